package io.github.optlist.torch;

import io.github.optlist.ListVariant;

import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongConsumer;

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

    /**
     * Applies one update from gradients that are {@code gradScale} times the true ones (the loss was multiplied by
     * it before {@code backward()}, as {@link GradScaler} does), or skips it when any gradient holds NaN or
     * infinity: then no parameter, moment or step count changes, so the schedule and the bias correction count only
     * the steps that ran. Otherwise the update is {@link #step()}'s on the gradients divided by {@code gradScale};
     * the gradients' values afterwards are unspecified (they may be divided in place). Checks every gradient as
     * {@link #step()} does, whatever the options say about non-finite steps. Costs one pass over the gradients (the
     * check) more than {@link #step()}, and one host read of the check's flag per device.
     *
     * @return whether the step ran
     * @throws IllegalArgumentException if {@code gradScale} is not positive and finite in float32, or as
     *                                  {@link #step()}; nothing is changed then
     */
    boolean scaledStep(double gradScale);

    /** The number of completed {@code step()} calls (a skipped one does not count). */
    long stepCount();

    /**
     * The number of {@link #step()} calls skipped, under {@link OptimizerOptions#skipNonFiniteSteps()}, for
     * non-finite gradients.
     */
    long skippedSteps();

    /**
     * Sets what is called with {@link #stepCount()} at each step skipped for non-finite gradients (a
     * {@link #scaledStep} that finds one is not such a step: it returns false instead).
     *
     * @throws IllegalArgumentException if {@code listener} is null
     * @throws IllegalStateException    if the optimizer is closed
     */
    void setSkippedStepListener(LongConsumer listener);

    /**
     * What this optimizer runs: the {@link OptimizerSpec} it was built from, with any group added since. A plain
     * value: it answers after {@link #close()} too, as the getters below that read it.
     */
    OptimizerSpec spec();

    /** The parameter groups, in the order given, each with the configuration that runs. */
    default List<ParamGroup> paramGroups() {
        return spec().groups();
    }

    /** The training length the schedule is laid out over. */
    default long trainingSteps() {
        return spec().trainingSteps();
    }

    /** The list variant whose warm-up length the schedule uses. */
    default ListVariant variant() {
        return spec().variant();
    }

    /** The options given at construction. */
    default OptimizerOptions options() {
        return spec().options();
    }

    /**
     * A copy of the whole state, as torch's {@code state_dict()}, owned by the caller (its tensors are attached to
     * the caller's innermost {@code PointerScope}, if any); changing it does not change the optimizer.
     */
    OptimizerState state();

    /**
     * Replaces the whole state with {@code state}, copying its tensors. Everything is checked before anything
     * changes (configurations by value, group and parameter counts, shapes, state dtypes and precision, training
     * length, variant): a refused state leaves the optimizer as it was. When both the state and this optimizer name
     * every parameter, parameters are matched by name, within and across groups ({@link OptimizerState#fittedTo}),
     * and differing names are refused naming the first; otherwise by position.
     *
     * @throws IllegalArgumentException if {@code state} is null or does not fit this optimizer, naming the first
     *                                  mismatch
     */
    void loadState(OptimizerState state);

    /**
     * Writes {@link #state()} to one file, atomically: the file is written aside (as {@code <name>.tmp<pid>-<n>} in
     * the same folder), flushed to the device, renamed over {@code path}, and the folder flushed, so {@code path}
     * holds either its previous bytes or the whole new checkpoint, even across a crash or a power failure. What is
     * saved: per-parameter step counts, both moments and any master copies (through LibTorch's archive), every
     * group's configuration, the training length, the schedule variant, the state precision and a format version;
     * the archive's zip CRC32s let {@link #load} detect damage. The state of a parameter that moved since its last
     * update is moved after it first. The parameters themselves belong to the model: save it with
     * {@code model.save(OutputArchive)}.
     *
     * <p>On failure (no such folder, read-only folder, full disk, quota, a LibTorch error) the previous file at
     * {@code path}, if any, is left byte for byte as it was, the temporary file is deleted, the optimizer is
     * unchanged, and the {@link IOException} names {@code path} and the cause (e.g. "No space left on device").
     * Only if flushing the folder fails after the rename is the new file already in place; the message says so. A
     * process killed while saving leaves its temporary file (safe to delete) and an intact {@code path}.
     *
     * @throws IllegalArgumentException if {@code path} is null
     * @throws IOException              if the file cannot be written, as above
     */
    void save(Path path) throws IOException;

    /**
     * Restores a checkpoint written by {@link #save(Path)} of any optimizer of this library (sharded or not) over the
     * same parameters: matched by name, within and across groups, when the file (format 4) and this optimizer name
     * every parameter, else in the same groups and order; checked as {@link #loadState} checks a state (format 2
     * files hold state in the parameters' dtype: {@link StatePrecision#PARAM_DTYPE}). Moments saved on one device
     * load onto the parameters' device. The file is trusted in nothing: no code from it runs (no TorchScript is
     * deserialized), every offset, size and tensor geometry is checked against the file before a byte is used, and
     * every byte used against its zip entry's CRC32, so a damaged or crafted file is refused rather than loaded
     * (see {@code docs/checkpoints.md}, "Files from elsewhere"). Everything is checked and converted before anything
     * changes: after a refused load the optimizer is exactly as it was.
     *
     * @throws IllegalArgumentException          if {@code path} is null
     * @throws java.nio.file.NoSuchFileException if there is no file at {@code path}
     * @throws CheckpointException               if the file is a directory or not a regular file, damaged (naming
     *                                           the damaged entry or structure), truncated, crafted, of another kind
     *                                           (naming the method that reads it), from a newer format version, or
     *                                           does not match this optimizer (another model, dtype, config or
     *                                           state precision)
     * @throws IOException                       if the file cannot be read
     */
    void load(Path path) throws IOException;

    /**
     * Writes {@link #state()} as the published PyTorch binding's {@code torch.save(opt.state_dict())}: Python's
     * {@code torch.load} and {@code load_state_dict} on {@code torch_opt_list.NadamWCosineDecay} (built over the same
     * parameters, in {@code model.parameters()} order) accept it and continue the run as this optimizer would
     * under {@link ListVariant#TORCH_PORT}. A {@link ListVariant#TASKSET} optimizer's groups carry an extra
     * {@code opt_list_variant} key, which Python keeps and ignores; see {@code docs/checkpoints.md} for the whole
     * layout and the cross-language recipe. Written atomically, as {@link #save}.
     *
     * @throws IllegalArgumentException if Python would update the state differently: a {@code TASKSET} group whose
     *                                  warm-up the binding would run over another length, or float32 master copies
     *                                  (the binding keeps none and would round them away); nothing is written then
     * @throws IOException              if the file cannot be written; the previous file, if any, is unchanged
     * @throws IllegalStateException    if the optimizer is closed
     */
    default void savePythonStateDict(Path path) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            CheckpointFiles.writePythonStateDict(state(), path);
        }
    }

    /**
     * Continues from a file that {@code torch.save(opt.state_dict())} of the published binding (or
     * {@link #savePythonStateDict}) wrote, read as {@link #load} reads a checkpoint: nothing from the file runs
     * (only the few Python names a state dict uses are known, as {@code torch.load(weights_only=True)}), and
     * everything is checked before anything changes: the zip structure and CRC32s, the tensors' geometry against
     * their records, the layout, parameter count, shapes and dtypes, every hyperparameter against this optimizer's
     * configurations, the training length and the variant; a refused file leaves the optimizer as it was. Moments
     * saved from any device (CUDA included) load onto the parameters' device. The optimizer's own step count becomes
     * the largest parameter step (torch's file has no other).
     *
     * @throws java.nio.file.NoSuchFileException if there is no file at {@code path}
     * @throws CheckpointException               if the file is damaged, foreign, or does not fit, naming the
     *                                           difference
     * @throws IllegalStateException             if the optimizer is closed
     */
    default void loadPythonStateDict(Path path) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            loadState(CheckpointFiles.readPythonStateDict(path, paramGroups(), trainingSteps(), variant(),
                    options().statePrecision()));
        }
    }

    /** Frees the state now instead of at garbage collection; the parameters are untouched. Idempotent. */
    @Override
    void close();
}
