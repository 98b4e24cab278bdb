package io.github.optlist.torch;

import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * What the optimizer keeps, and computes in, for float16 and bfloat16 parameters; chosen with
 * {@link OptimizerOptions#statePrecision()} at construction. Parameters in float32 or float64 are the same
 * under every value: their moments are in their own dtype and the update runs on them directly.
 *
 * <p>Memory per element of a half-precision parameter (the parameter and its gradient take 2 bytes each on top):
 * <table>
 *   <caption>state and scratch bytes per parameter element</caption>
 *   <tr><th>precision</th><th>kept between steps</th><th>scratch, every path</th></tr>
 *   <tr><td>{@link #FLOAT32}</td><td>8 (both moments in float32)</td>
 *       <td>8 (float32 copies of parameter and gradient)</td></tr>
 *   <tr><td>{@link #FLOAT32_MASTER_WEIGHTS}</td><td>12 (moments and master copy in float32)</td>
 *       <td>4 (float32 copy of the gradient)</td></tr>
 *   <tr><td>{@link #PARAM_DTYPE}</td><td>4 (both moments in the parameter's dtype)</td><td>none</td></tr>
 * </table>
 * plus the update paths' own scratch (a denominator on the multi- and single-tensor paths, a Nesterov numerator
 * on the fused path for some entries), 4 bytes each in float32 and 2 in {@link #PARAM_DTYPE}.
 */
public enum StatePrecision {

    /**
     * The default: both moments in float32, and the whole update computed in float32 on a float32 copy of the
     * parameter and of its gradient, taken afresh at every step; the result is rounded into the parameter once.
     * The parameter stays the only copy of the weights, so whatever else writes to it is respected.
     */
    FLOAT32,

    /**
     * Mixed-precision master weights: as {@link #FLOAT32}, but the float32 copy of the parameter is kept from step
     * to step and is the one the update runs on; the parameter receives it rounded after each step. Small updates
     * then accumulate instead of being lost to the parameter's rounding. The master copy is saved in checkpoints.
     * It is taken from the parameter at its first update (and when the parameter moves to another device or
     * dtype): values written into the parameter by other code afterwards are overwritten by the next step.
     */
    FLOAT32_MASTER_WEIGHTS,

    /**
     * torch.optim's behaviour: moments in the parameter's own dtype and the update computed in it, to save memory.
     * In float16, {@code g * g} of gradients below about 2.4e-4 underflows to 0 and epsilons below 6e-8 round to 0
     * (list entries from index 39 on include such epsilons), which can divide by zero.
     */
    PARAM_DTYPE;

    /** Whether {@code dtype} (a {@code ScalarType} value) is float16 or bfloat16. */
    static boolean isHalf(int dtype) {
        return ScalarTypes.isHalf(dtype);
    }

    /** The dtype the moments are kept and the update is computed in, for a parameter of {@code dtype}. */
    static int stateDtypeFor(int dtype, StatePrecision precision) {
        return isHalf(dtype) && precision != PARAM_DTYPE ? ScalarType.Float.value : dtype;
    }

    /** Whether a parameter of {@code dtype} keeps a float32 master copy under {@code precision}. */
    static boolean keepsMaster(int dtype, StatePrecision precision) {
        return precision == FLOAT32_MASTER_WEIGHTS && isHalf(dtype);
    }
}
