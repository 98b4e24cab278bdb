package io.github.optlist.torch;

import io.github.optlist.ListVariant;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What every optimizer of this library does, sharded or not: {@link NAdamWCosineDecay} in one process,
 * {@code io.github.optlist.distributed.ZeroRedundancyOptimizer} with its state spread over ranks. Code written
 * against this interface (a training loop, a checkpoint routine) runs with either.
 *
 * <p>A closed optimizer refuses {@link #step()}, {@link #state()}, {@link #loadState}, {@link #save} and
 * {@link #load} with an {@link IllegalStateException}.
 */
public interface ListOptimizer extends AutoCloseable {

    /** Clears every parameter's gradient by setting it to none (undefined), as torch does by default. */
    void zeroGrad();

    /**
     * Applies one update to every parameter that has a gradient.
     *
     * @throws IllegalArgumentException if a gradient cannot be applied; nothing is changed then
     */
    void step();

    /** The number of completed {@code step()} calls (a skipped one does not count). */
    long stepCount();

    /** The parameter groups, in the order given, each with the configuration that runs. */
    List<ParamGroup> paramGroups();

    /** The training length the schedule is laid out over. */
    long trainingSteps();

    /** The list variant whose warm-up length the schedule uses. */
    ListVariant variant();

    /** The options given at construction. */
    OptimizerOptions options();

    /**
     * A copy of the whole state, as torch's {@code state_dict()}, owned by the caller (its tensors are attached to
     * the caller's innermost {@code PointerScope}, if any); changing it does not change the optimizer.
     */
    OptimizerState state();

    /**
     * Replaces the whole state with {@code state}, copying its tensors. Everything is checked before anything
     * changes (configurations by value, group and parameter counts, shapes, state dtypes and precision, training
     * length, variant): a refused state leaves the optimizer as it was.
     *
     * @throws IllegalArgumentException if {@code state} is null or does not fit this optimizer, naming the first
     *                                  mismatch
     */
    void loadState(OptimizerState state);

    /**
     * Writes {@link #state()} to one checkpoint file; see {@link NAdamWCosineDecay#save(Path)} for the format.
     *
     * @throws IOException if the file cannot be written
     */
    void save(Path path) throws IOException;

    /**
     * Restores a checkpoint written by {@link #save(Path)} of any optimizer of this library over the same model;
     * a refused file leaves the optimizer as it was.
     *
     * @throws IOException as {@link NAdamWCosineDecay#load(Path)}
     */
    void load(Path path) throws IOException;

    /** Frees the state now instead of at garbage collection; the parameters are untouched. Idempotent. */
    @Override
    void close();
}
