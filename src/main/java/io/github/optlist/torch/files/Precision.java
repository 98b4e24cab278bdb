package io.github.optlist.torch.files;

import java.util.function.IntPredicate;
import java.util.function.IntUnaryOperator;

/**
 * A state precision as the formats need it, given by the optimizer's package, which defines what each means: its
 * name, the dtype a parameter of a dtype keeps its moments in, and whether it keeps a float32 master copy (dtypes as
 * {@code ScalarType} codes).
 *
 * @param name        the precision's name, as checkpoints record it
 * @param stateDtype  the state dtype of a parameter's dtype
 * @param keepsMaster whether a parameter of a dtype keeps a float32 master copy
 */
public record Precision(String name, IntUnaryOperator stateDtype, IntPredicate keepsMaster) {
}
