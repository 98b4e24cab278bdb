package io.github.optlist.torch;

import io.github.optlist.internal.CallGuard;
import io.github.optlist.internal.GradScales;
import io.github.optlist.internal.Messages;
import io.github.optlist.internal.NonFiniteCheck;
import io.github.optlist.internal.OptimizerBookkeeping;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * NAdamW with the list's warm-up, constant and cosine-decay schedule, updating LibTorch tensors in place on
 * their own device (CPU or CUDA). Used like a torch.optim optimizer:
 * <pre>{@code
 * NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(model.parameters(), 0, trainingSteps);
 * for (long i = 0; i < trainingSteps; i++) {
 *     opt.zeroGrad();
 *     loss(model, batch(i)).backward();
 *     opt.step();
 * }
 * }</pre>
 *
 * <p>Update {@code k} (0-based) of a parameter, with {@code t = k + 1} and {@code lr = schedule(k)}:
 * <pre>
 *   g    = grad - l2WeightDecay * p
 *   m    = beta1 * m + (1 - beta1) * g
 *   v    = beta2 * v + (1 - beta2) * g * g
 *   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   u    = useNesterov ? beta1 * m + (1 - beta1) * g : m
 *   p    = p - lr_t * (u / (sqrt(v) + epsilon) + adamwWeightDecay * p)
 * </pre>
 * Implementers find this update, written once with its schedule and in its three {@linkplain UpdatePath paths}, in
 * {@link NAdamWUpdate} (package-private, beside this file), one dispatcher away from {@link #step()}.
 * Parameters are held in {@linkplain ParamGroup groups}, each with its own configuration. A parameter whose
 * gradient is undefined is skipped and its step count does not advance. Each parameter counts its own steps (a group
 * added later starts its schedule at step 0); training past {@code trainingSteps} keeps the final learning rate.
 *
 * <p>{@link OptimizerOptions}, given at construction, choose the update path ({@link #lastStepUpdates()} tells which
 * ran, and why a slower one did), what half-precision parameters keep their state in, and whether steps with
 * non-finite gradients are skipped. The state follows its parameter: after {@code model.to(...)} (another device
 * or dtype), the next {@code step()} (or {@code save}) moves and casts its moments once, as torch's
 * {@code load_state_dict} casts state to its parameter. {@code step()} frees every native temporary it creates
 * before it returns, whatever scope the caller has, and never reads a tensor value back to the host. The moments
 * and scratch buffers are allocated on a parameter's first update and freed by {@link #close()} (or by the GC).
 *
 * <p>A closed optimizer refuses every call that would use its parameters or state with an
 * {@link IllegalStateException}; the getters of plain values ({@code stepCount()}, {@code options()}, ...) still
 * answer. Not thread-safe: one optimizer serves one training loop; optimizers over distinct parameters may step
 * concurrently. Only {@link #close()} is guarded against other threads: while a call on another thread is in
 * progress it is refused with an {@link IllegalStateException} instead of freeing the state under that call.
 */
public final class NAdamWCosineDecay implements ListOptimizer {

    /** What this optimizer runs; replaced by {@link #addParamGroup}, which grows it. */
    private OptimizerSpec spec;
    private final List<GroupStepper> groups = new ArrayList<>();
    private final NonFiniteCheck nonFinite = new NonFiniteCheck();
    private final ParamStateAccess paramStates;
    /** The closed flag, the step and skip counts and the skip listener, shared with the sharded optimizer. */
    private final OptimizerBookkeeping book = new OptimizerBookkeeping();
    /** Which path updated each bucket at the last step; empty after a skip. */
    private List<UpdatePath.Report> lastUpdates = List.of();

    private NAdamWCosineDecay(OptimizerSpec spec) {
        this.spec = spec;
        this.paramStates = new ParamStateAccess(this.groups, spec.options().statePrecision());
        spec.groups().forEach(this::addStepper);
        SpinWaitWarning.logOncePerProcess();
    }

    /**
     * An optimizer running {@code spec}: its groups, each with its own configuration (run as it says, Nesterov
     * included), over one training length, the warm-up length of its variant, and its options. The spec was checked
     * when it was made ({@link OptimizerSpec}); {@link TorchOptList#optimizerForIdx} builds one for a list entry.
     *
     * @throws IllegalArgumentException if {@code spec} is null
     */
    public static NAdamWCosineDecay of(OptimizerSpec spec) {
        if (spec == null) {
            throw new IllegalArgumentException("spec must not be null");
        }
        return new NAdamWCosineDecay(spec);
    }

    /** Steps {@code group}, checked beforehand, at the next group index. */
    private void addStepper(ParamGroup group) {
        groups.add(new GroupStepper(groups.size(), group, spec.trainingSteps(), spec.variant(), spec.options()));
    }

    /**
     * Adds a group; its parameters start at step 0. Everything is checked first.
     *
     * @throws IllegalArgumentException if the group is null or holds a tensor this optimizer already optimizes, or
     *                                  one sharing memory with it
     */
    public void addParamGroup(ParamGroup group) {
        try (CallGuard.Call call = book.enter()) {
            spec = spec.withGroup(group);
            addStepper(group);
        }
    }

    @Override
    public OptimizerSpec spec() {
        return spec;
    }

    @Override
    public long stepCount() {
        return book.stepCount();
    }

    /**
     * The number of updates applied to {@code param}: lower than {@link #stepCount()} if it was added later or
     * had no gradient at some steps.
     *
     * @throws IllegalArgumentException if this optimizer does not hold {@code param}
     */
    public long stepCount(Tensor param) {
        try (CallGuard.Call call = book.enter()) {
            return paramStates.find(param).step;
        }
    }

    /** The learning rate the next {@code step()} applies to the first group. */
    public double learningRate() {
        return learningRate(0);
    }

    /**
     * The learning rate the next {@code step()} applies to the parameters of group {@code groupIndex} that have
     * been updated the most (all of them, when each had a gradient at every step).
     *
     * @throws IllegalArgumentException if there is no such group
     */
    public double learningRate(int groupIndex) {
        try (CallGuard.Call call = book.enter()) {
            return GroupStepper.nextLearningRate(groups, groupIndex);
        }
    }

    @Override
    public void zeroGrad() {
        zeroGrad(true);
    }

    /**
     * Clears every parameter's gradient: sets it to none (undefined) if {@code setToNone}, else detaches it from any
     * graph, as torch's {@code zero_grad(set_to_none=False)} does, and fills it with zeros in place. Every gradient is
     * checked first: a refused call changes none.
     *
     * @throws IllegalArgumentException if {@code setToNone} is false and a gradient is expanded (has a stride 0)
     */
    public void zeroGrad(boolean setToNone) {
        try (CallGuard.Call call = book.enter()) {
            GradientZeroing.zeroGrad(groups, setToNone);
        }
    }

    /**
     * {@inheritDoc} Under {@link OptimizerOptions#skipNonFiniteSteps()}, skips the step when a gradient holds NaN or
     * infinity. Every gradient is checked against its parameter first. A parameter moved since its last update first
     * has its state moved after it (the only allocation after a parameter's first update).
     *
     * @throws IllegalArgumentException if a gradient is not dense, not floating point, on another device than its
     *                                  parameter or of another shape, or a parameter was resized after its first
     *                                  update or now overlaps itself; nothing is changed then
     * @throws StepFailedException      if LibTorch fails after the checks passed, saying what was being done and
     *                                  which parameters were updated; {@link #stepCount()} stays
     */
    @Override
    public void step() {
        try (CallGuard.Call call = book.enter()) {
            NonFiniteCheck check = spec.options().skipNonFiniteSteps() ? nonFinite : null;
            book.step(() -> stepAll(check, 1), true);
        }
    }

    /**
     * {@inheritDoc} The division happens inside the update, in the state's precision (float32 for half-precision
     * parameters under the default {@link StatePrecision}), through the fused kernels' {@code grad_scale} on the
     * fused path; a skip is not counted in {@link #skippedSteps()}.
     */
    @Override
    public boolean scaledStep(double gradScale) {
        double scale = GradScales.require(gradScale);
        try (CallGuard.Call call = book.enter()) {
            return book.step(() -> stepAll(nonFinite, scale), false) != null;
        }
    }

    /**
     * Updates every group ({@link GroupStepper#stepAll}) and keeps what it reports: the buckets it updated, none
     * after a skip (it returns null), or, when LibTorch fails, the buckets completed before.
     */
    private List<UpdatePath.Report> stepAll(NonFiniteCheck check, double gradScale) {
        try {
            List<UpdatePath.Report> reports = GroupStepper.stepAll(groups, check, gradScale);
            lastUpdates = reports == null ? List.of() : reports;
            return reports;
        } catch (StepFailedException e) {
            lastUpdates = e.completedUpdates();
            throw e;
        }
    }

    /**
     * Runs {@code closure} with gradients enabled (it zeroes the gradients, computes the loss, calls
     * {@code backward()} and returns the loss), then applies one update.
     *
     * @return the closure's loss, owned by the caller
     * @throws IllegalArgumentException if {@code closure} is null or a gradient is sparse
     */
    public Tensor step(Supplier<Tensor> closure) {
        try (CallGuard.Call call = book.enter()) {
            if (closure == null) {
                throw new IllegalArgumentException("closure must not be null");
            }
            try (AutoGradMode gradEnabled = new AutoGradMode(true)) {
                Tensor loss = closure.get();
                step(); // under no-grad inside, whatever mode it is called in
                return loss;
            }
        }
    }

    /** Which path updated each bucket at the last {@code step()}, and why a slower one; empty after a skip. */
    public List<UpdatePath.Report> lastStepUpdates() {
        return lastUpdates;
    }

    @Override
    public long skippedSteps() {
        return book.skippedSteps();
    }

    @Override
    public void setSkippedStepListener(LongConsumer listener) {
        book.setSkipListener(listener);
    }

    /** {@inheritDoc} A parameter's state that has not followed its parameter's move does so first. */
    @Override
    public OptimizerState state() {
        return state(true);
    }

    /** The state; with {@code copy} false it holds the live tensors, for a writer done before the next step. */
    private OptimizerState state(boolean copy) {
        try (CallGuard.Call call = book.enter(); NoGradGuard noGrad = new NoGradGuard()) {
            try (PointerScope scope = new PointerScope()) {
                groups.forEach(GroupStepper::followParameters);
            }
            return new OptimizerState(trainingSteps(), variant(), options().statePrecision(), stepCount(),
                    groups.stream().map(group -> group.state(copy)).toList());
        }
    }

    /** {@inheritDoc} Moments given on one device load onto the parameters' device, whatever it is. */
    @Override
    public void loadState(OptimizerState state) {
        try (CallGuard.Call call = book.enter()) {
            if (state == null) {
                throw new IllegalArgumentException("state must not be null");
            }
            OptimizerState fitted = state.fittedTo(spec.groups(), spec.trainingSteps(), spec.variant(),
                    spec.options().statePrecision());
            for (int g = 0; g < groups.size(); g++) {
                groups.get(g).requireLoadable(fitted.groups().get(g));
            }
            List<List<ParamState.Loaded>> loaded = new ArrayList<>();
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                for (int g = 0; g < groups.size(); g++) {
                    loaded.add(groups.get(g).prepare(fitted.groups().get(g)));
                }
            } catch (RuntimeException e) {
                loaded.forEach(group -> group.forEach(ParamState.Loaded::release));
                throw new IllegalArgumentException("cannot convert the state to this optimizer's devices and dtypes: "
                        + Messages.firstLine(e) + "; nothing was changed", e);
            }
            // Everything is converted: from here on nothing allocates, so nothing can fail halfway.
            for (int g = 0; g < groups.size(); g++) {
                groups.get(g).commit(loaded.get(g));
            }
            book.setStepCount(state.stepCount());
        }
    }

    @Override
    public void save(Path path) throws IOException {
        try (CallGuard.Call call = book.enter()) {
            CheckpointFiles.save(path, () -> state(false), paramGroups());
        }
    }

    @Override
    public void load(Path path) throws IOException {
        try (CallGuard.Call call = book.enter()) {
            CheckpointFiles.load(path, paramGroups(), this::loadState);
        }
    }

    /** {@inheritDoc} A closed optimizer refuses before the file is read. */
    @Override
    public void loadPythonStateDict(Path path) throws IOException {
        try (CallGuard.Call call = book.enter()) {
            ListOptimizer.super.loadPythonStateDict(path);
        }
    }

    /**
     * A copy of {@code param}'s entry of {@link #state()}, as torch's {@code state_dict()["state"][i]}.
     *
     * @throws IllegalArgumentException if this optimizer does not hold {@code param}
     */
    public OptimizerState.Param stateDict(Tensor param) {
        try (CallGuard.Call call = book.enter()) {
            return paramStates.copy(param);
        }
    }

    /**
     * Replaces {@code param}'s state, copying the moments into this optimizer's state dtype and device (a missing
     * master copy is taken from the parameter; step 0 frees the moments), checked first. {@link #stepCount()} stays.
     *
     * @throws IllegalArgumentException if this optimizer does not hold {@code param}, {@code state} is null, or its
     *                                  moments are not floating point or have another shape than {@code param}
     */
    public void loadStateDict(Tensor param, OptimizerState.Param state) {
        try (CallGuard.Call call = book.enter()) {
            paramStates.replace(param, state);
        }
    }

    /**
     * Sets what {@link #stepCount()} reports, for the tests that load states parameter by parameter; users load a
     * step count with {@link #loadState}. The schedule follows each parameter's own step count.
     *
     * @throws IllegalArgumentException if {@code count} is negative or above {@code CosineSchedule.MAX_STEPS}
     * @throws IllegalStateException    if the optimizer is closed
     */
    void setStepCount(long count) {
        try (CallGuard.Call call = book.enter()) {
            book.setStepCount(count);
        }
    }

    /** The state of {@code param}, for the tests. */
    ParamState stateOf(Tensor param) {
        return paramStates.find(param);
    }

    /**
     * {@inheritDoc} Refused while a call on another thread is in progress (freeing the state under it would crash
     * the JVM); nothing is freed then, and a later {@code close()} succeeds.
     *
     * @throws IllegalStateException if another thread is using this optimizer
     */
    @Override
    public void close() {
        if (book.close()) {
            groups.forEach(GroupStepper::release);
            nonFinite.release();
        }
    }
}
