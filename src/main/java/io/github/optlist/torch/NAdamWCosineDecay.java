package io.github.optlist.torch;

import io.github.optlist.BiasCorrection;
import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * NAdamW with the list's warm-up, constant and cosine-decay schedule, updating LibTorch tensors in place on
 * their own device (CPU or CUDA).
 *
 * <p>Used like a torch.optim optimizer:
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
 * Parameters are held in {@linkplain ParamGroup groups}, each with its own configuration. A parameter whose
 * gradient is undefined is skipped and its step count does not advance. Each parameter counts its own steps, so a
 * group added later starts its schedule at step 0. Training past {@code trainingSteps} keeps the final learning
 * rate.
 *
 * <p>The update runs on one of three {@linkplain UpdatePath paths}, chosen per bucket of parameters that share a
 * device, dtype and step count: ATen's fused Adam kernels by default, its multi-tensor {@code _foreach_*} ops where
 * those cannot run, or one op at a time per tensor; see {@link #setUpdatePath}. {@link #lastStepUpdates()} tells
 * which path each bucket took, and why when it was a slower one.
 *
 * <p>Float16 and bfloat16 parameters keep their moments in float32 and have their update computed in float32,
 * rounded into the parameter once per step, on every path; {@link #setStatePrecision} opts in to float32 master
 * weights or out to torch.optim's state in the parameter's dtype.
 *
 * <p>The state follows its parameter: when a parameter has moved to another device or been cast to another dtype
 * since its last update ({@code model.to(...)}), the next {@code step()} (or {@code save}) moves and casts its
 * moments once, as torch's {@code load_state_dict} casts state to its parameter, and goes on from them.
 *
 * <p>{@code step()} frees every native temporary it creates before it returns, whatever scope the caller has, and
 * never reads a tensor value back to the host. The moments and scratch buffers are allocated on a parameter's
 * first update and freed by {@link #close()} (or by the garbage collector).
 *
 * <p>Not thread-safe: one optimizer serves one training loop; distinct optimizers over distinct parameters may
 * step concurrently.
 */
public final class NAdamWCosineDecay implements AutoCloseable {

    private final long trainingSteps;
    private final ListVariant variant;
    private final List<ParamGroup> groups = new ArrayList<>();
    private final List<List<ParamState>> states = new ArrayList<>();
    /** Every parameter's state by tensor identity, to find it and to refuse a tensor given twice. */
    private final Map<Long, ParamState> stateByTensor = new HashMap<>();
    private long stepCount;
    private boolean skipNonFiniteSteps;
    private long skippedSteps;
    private boolean closed;
    private LongConsumer skippedStepListener = step -> { };
    private UpdatePath updatePath = UpdatePath.FUSED;
    private StatePrecision statePrecision = StatePrecision.FLOAT32;
    /** One per group: the multi-tensor and fused paths' tensor lists, kept while the buckets stay the same. */
    private final List<Buckets> buckets = new ArrayList<>();
    private final Map<UpdatePath, Long> tensorUpdatesByPath = new EnumMap<>(UpdatePath.class);
    private List<BucketUpdate> lastStepUpdates = List.of();
    private final NonFinite nonFinite = new NonFinite();

    /**
     * An optimizer for one group of parameters with a custom configuration and the {@link ListVariant#TASKSET}
     * warm-up length. The configuration runs as it says, Nesterov included.
     *
     * @throws IllegalArgumentException for no or bad parameters, a null config, or {@code trainingSteps <= 0}
     */
    public NAdamWCosineDecay(TensorVector params, NAdamWConfig config, long trainingSteps) {
        this(params, config, trainingSteps, ListVariant.TASKSET);
    }

    /**
     * An optimizer for one group of parameters. {@code config} runs as it says, Nesterov included; {@code variant}
     * only picks the schedule's warm-up length. To run a list entry as a published binding did, pass
     * {@code variant.apply(entry)} (or use {@link TorchOptList#optimizerForIdx}), which also drops Nesterov
     * under {@link ListVariant#TASKSET}.
     *
     * @throws IllegalArgumentException for no or bad parameters, a null config or variant, or {@code trainingSteps <= 0}
     */
    public NAdamWCosineDecay(TensorVector params, NAdamWConfig config, long trainingSteps, ListVariant variant) {
        this(singleGroup(params, config, trainingSteps, variant), trainingSteps, variant);
    }

    /**
     * An optimizer for several groups, each with its own configuration (run as it says, Nesterov included), sharing
     * one training length and the warm-up length of {@code variant}; see
     * {@link #NAdamWCosineDecay(TensorVector, NAdamWConfig, long, ListVariant)}.
     *
     * @throws IllegalArgumentException for no groups, a tensor in two groups, two tensors that share memory (see
     *                                  {@link ParamGroup}), a null variant, or {@code trainingSteps <= 0}
     */
    public NAdamWCosineDecay(List<ParamGroup> groups, long trainingSteps, ListVariant variant) {
        requireSchedule(trainingSteps, variant);
        if (groups == null || groups.isEmpty()) {
            throw new IllegalArgumentException("the optimizer needs at least one parameter group, got "
                    + (groups == null ? "null" : "none"));
        }
        this.trainingSteps = trainingSteps;
        this.variant = variant;
        requireNewTensors(groups);
        for (ParamGroup group : groups) {
            register(group);
        }
        SpinWaitWarning.logOncePerProcess();
    }

    /** Checks the schedule settings first, so that bad ones are refused before any tensor is looked at. */
    private static List<ParamGroup> singleGroup(TensorVector params, NAdamWConfig config, long trainingSteps,
                                                ListVariant variant) {
        requireSchedule(trainingSteps, variant);
        return List.of(ParamGroup.of(params, config));
    }

    private static void requireSchedule(long trainingSteps, ListVariant variant) {
        CosineSchedule.requireTrainingSteps(trainingSteps);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
    }

    /**
     * Adds a group; its parameters start at step 0. Everything is checked first: a refused group leaves the
     * optimizer as it was.
     *
     * @throws IllegalArgumentException if the group is null or holds a tensor this optimizer already optimizes, or
     *                                  one that shares memory with it (see {@link ParamGroup})
     * @throws IllegalStateException    if the optimizer is closed
     */
    public void addParamGroup(ParamGroup group) {
        requireOpen();
        if (group == null) {
            throw new IllegalArgumentException("group must not be null");
        }
        requireNewTensors(List.of(group));
        register(group);
    }

    /**
     * Refuses a tensor of {@code newGroups} that is already optimized, given twice, or sharing memory with another
     * tensor of this optimizer or of {@code newGroups}: the optimizer would update that memory twice.
     */
    private void requireNewTensors(List<ParamGroup> newGroups) {
        Map<Long, String> seen = new HashMap<>();
        stateByTensor.forEach((identity, state) -> seen.put(identity, state.position));
        for (int g = 0; g < newGroups.size(); g++) {
            ParamGroup group = newGroups.get(g);
            if (group == null) {
                throw new IllegalArgumentException("group " + g + " is null");
            }
            for (int i = 0; i < group.params().size(); i++) {
                String where = position(groups.size() + g, i);
                String first = seen.putIfAbsent(TensorChecks.identity(group.params().get(i)), where);
                if (first != null) {
                    throw new IllegalArgumentException(where + " is the same tensor as " + first
                            + "; a tensor can be in only one group");
                }
            }
        }
        List<Tensor> all = new ArrayList<>();
        List<String> positions = new ArrayList<>();
        for (int g = 0; g < groups.size() + newGroups.size(); g++) {
            ParamGroup group = g < groups.size() ? groups.get(g) : newGroups.get(g - groups.size());
            for (int i = 0; i < group.params().size(); i++) {
                all.add(group.params().get(i));
                positions.add(position(g, i));
            }
        }
        try (PointerScope scope = new PointerScope()) {
            TensorChecks.requireNoSharedMemory(all, positions::get);
        }
    }

    private void register(ParamGroup group) {
        List<ParamState> groupStates = new ArrayList<>(group.params().size());
        for (int i = 0; i < group.params().size(); i++) {
            ParamState state = new ParamState(group.params().get(i), position(groups.size(), i));
            stateByTensor.put(TensorChecks.identity(state.param), state);
            groupStates.add(state);
        }
        groups.add(group);
        states.add(groupStates);
        buckets.add(new Buckets());
    }

    /** The parameter groups, in the order given, each with the configuration that really runs. */
    public List<ParamGroup> paramGroups() {
        return Collections.unmodifiableList(groups);
    }

    /** The training length the schedule is laid out over. */
    public long trainingSteps() {
        return trainingSteps;
    }

    /** The list variant whose warm-up length the schedule uses. */
    public ListVariant variant() {
        return variant;
    }

    /** The number of completed {@code step()} calls. */
    public long stepCount() {
        return stepCount;
    }

    /**
     * The number of updates applied to {@code param}: lower than {@link #stepCount()} if it was added later or
     * had no gradient at some steps.
     *
     * @throws IllegalArgumentException if this optimizer does not hold {@code param}
     * @throws IllegalStateException    if the optimizer is closed
     */
    public long stepCount(Tensor param) {
        requireOpen();
        return stateOf(param).step;
    }

    /**
     * The learning rate the next {@code step()} applies to the first group.
     *
     * @throws IllegalStateException if the optimizer is closed
     */
    public double learningRate() {
        return learningRate(0);
    }

    /**
     * The learning rate the next {@code step()} applies to the parameters of group {@code groupIndex} that have
     * been updated the most (all of them, when each had a gradient at every step).
     *
     * @throws IllegalArgumentException if there is no such group
     * @throws IllegalStateException    if the optimizer is closed
     */
    public double learningRate(int groupIndex) {
        requireOpen();
        if (groupIndex < 0 || groupIndex >= groups.size()) {
            throw new IllegalArgumentException("groupIndex must be in [0, " + groups.size() + "), got " + groupIndex);
        }
        long next = 0;
        for (ParamState state : states.get(groupIndex)) {
            next = Math.max(next, state.step);
        }
        return CosineSchedule.learningRate(groups.get(groupIndex).config(), next, trainingSteps, variant);
    }

    /**
     * Clears every parameter's gradient by setting it to none (undefined), as torch does by default.
     *
     * @throws IllegalStateException if the optimizer is closed
     */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /**
     * Clears every parameter's gradient: sets it to none (undefined) if {@code setToNone}, else detaches it from any
     * graph, as torch's {@code zero_grad(set_to_none=False)} does, and fills it with zeros in place. Every gradient is
     * checked first: a refused call changes none.
     *
     * @throws IllegalArgumentException if {@code setToNone} is false and a gradient is expanded (has a stride 0),
     *                                  which cannot be filled in place
     * @throws IllegalStateException    if the optimizer is closed
     */
    public void zeroGrad(boolean setToNone) {
        requireOpen();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            if (!setToNone) {
                for (List<ParamState> groupStates : states) {
                    for (ParamState state : groupStates) {
                        Tensor grad = state.param.grad();
                        if (grad.defined()) {
                            TensorChecks.requireZeroableGradient(grad, state.position);
                        }
                    }
                }
            }
            for (ParamGroup group : groups) {
                for (Tensor param : group.params()) {
                    Tensor grad = param.mutable_grad();
                    if (!grad.defined()) {
                        continue;
                    }
                    if (setToNone) {
                        grad.reset();
                    } else {
                        // As torch: detach_() refuses views (e.g. gradients that are views of a bucket), and only
                        // a gradient with a graph needs it.
                        if (!grad.is_leaf()) {
                            grad.detach_();
                        } else if (grad.requires_grad()) {
                            grad.requires_grad_(false);
                        }
                        grad.zero_();
                    }
                }
            }
        }
    }

    /**
     * Applies one update to every parameter that has a gradient. A parameter moved to another device or dtype
     * since its last update first has its state moved and cast after it (the only time a step allocates after a
     * parameter's first update).
     *
     * <p>Every gradient is checked against its parameter before anything changes: a refused step changes no
     * parameter, moment or step count. A gradient of another floating-point dtype than its parameter is taken (the
     * fused kernels then give way to the multi-tensor path). Should LibTorch still fail once the update is under
     * way, the step throws a {@link StepFailedException}, which says what was being done and which parameters were
     * updated.
     *
     * @throws IllegalArgumentException if a gradient is not dense (sparse, mkldnn, nested), not floating point, on
     *                                  another device than its parameter or of another shape, or if a parameter was
     *                                  resized after its first update or now overlaps itself; the message names it
     *                                  ({@code params[1] of group 0 has shape [1000] but its gradient [10]})
     * @throws StepFailedException      if LibTorch fails after the checks passed; the optimizer's
     *                                  {@link #stepCount()} has not advanced then
     * @throws IllegalStateException    if the optimizer is closed
     */
    public void step() {
        requireOpen();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<Tensor> grads = gradientsOrRefuse();
            if (skipNonFiniteSteps && !allFinite(grads)) {
                skippedSteps++;
                lastStepUpdates = List.of();
                skippedStepListener.accept(stepCount);
                return;
            }
            List<GroupPlan> plans = new ArrayList<>(groups.size());
            int next = 0;
            for (int g = 0; g < groups.size(); g++) {
                int size = states.get(g).size();
                plans.add(prepareGroup(g, grads.subList(next, next + size)));
                next += size;
            }
            List<BucketUpdate> updates = new ArrayList<>();
            for (GroupPlan plan : plans) {
                applyGroup(plan, updates);
            }
            lastStepUpdates = Collections.unmodifiableList(updates);
        }
        stepCount++;
    }

    private boolean allFinite(List<Tensor> grads) {
        try {
            return nonFinite.allFinite(grads);
        } catch (RuntimeException e) {
            throw new StepFailedException("step() failed while checking the gradients for NaN and infinity;"
                    + " nothing was changed", List.of(), null, e);
        }
    }

    /**
     * Moves the state of every parameter that moved to another device, dtype or layout; see {@link ParamState#follow}.
     * {@code step()} does it for the parameters it updates.
     */
    private void followParameters() {
        for (int g = 0; g < states.size(); g++) {
            boolean moved = false;
            for (ParamState state : states.get(g)) {
                if (state.initialized()) {
                    moved |= state.follow();
                }
            }
            if (moved) {
                buckets.get(g).clear();
            }
        }
    }

    /**
     * What one group's update will do: its buckets with their keys and parameter indices, and the gradients,
     * one entry per parameter of the group (null for none).
     */
    private record GroupPlan(int group, List<Tensor> grads, List<Bucket.Key> keys, List<List<Integer>> members,
                             List<Bucket> buckets, List<String> fallbackReasons) {
    }

    /**
     * Readies group {@code g} for its update without changing any parameter: creates the state of parameters at
     * their first update, moves the state of moved ones, and sorts the parameters with a gradient into buckets.
     */
    private GroupPlan prepareGroup(int g, List<Tensor> grads) {
        NAdamWConfig config = groups.get(g).config();
        List<ParamState> groupStates = states.get(g);
        Map<Bucket.Key, List<Integer>> members = new LinkedHashMap<>();
        Map<Bucket.Key, String> fallbackReasons = new HashMap<>();
        boolean moved = false;
        for (int i = 0; i < groupStates.size(); i++) {
            ParamState state = groupStates.get(i);
            Tensor grad = grads.get(i);
            if (grad == null) {
                continue;
            }
            try {
                if (!state.initialized()) {
                    state.initialize(statePrecision);
                } else {
                    moved |= state.follow();
                }
            } catch (RuntimeException e) {
                buckets.get(g).clear();
                throw new StepFailedException("step() failed while " + (state.initialized() ? "moving" : "creating")
                        + " the state of " + state.position + "; no parameter was changed", List.of(), null, e);
            }
            PathChoice choice = choosePath(state, grad, config);
            Bucket.Key key = new Bucket.Key(state.deviceCode, state.dtype, state.step, choice.path());
            members.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
            if (!choice.fallbackReason().isEmpty()) {
                fallbackReasons.putIfAbsent(key, choice.fallbackReason());
            }
        }
        List<List<ParamState>> sets = new ArrayList<>(members.size());
        members.values().forEach(indices -> sets.add(indices.stream().map(groupStates::get).toList()));
        if (moved) {
            buckets.get(g).clear();
        }
        List<Bucket.Key> keys = new ArrayList<>(members.keySet());
        List<String> reasons = keys.stream().map(key -> fallbackReasons.getOrDefault(key, "")).toList();
        return new GroupPlan(g, grads, keys, new ArrayList<>(members.values()), buckets.get(g).forStep(sets),
                reasons);
    }

    /**
     * Updates one group's parameters, bucket by bucket, and reports each bucket to {@code updates}; wraps a LibTorch
     * failure into a {@link StepFailedException} naming the bucket.
     */
    private void applyGroup(GroupPlan plan, List<BucketUpdate> updates) {
        NAdamWConfig config = groups.get(plan.group()).config();
        for (int b = 0; b < plan.buckets().size(); b++) {
            Bucket.Key key = plan.keys().get(b);
            Bucket bucket = plan.buckets().get(b);
            List<Integer> indices = plan.members().get(b);
            ParamState first = bucket.states.get(0);
            BucketUpdate update = new BucketUpdate(plan.group(), indices, key.path(), first.deviceName,
                    ScalarTypes.of(first.dtype).name(), ScalarTypes.of(first.stateDtype).name(), key.step(),
                    plan.fallbackReasons().get(b));
            List<Tensor> bucketGrads = indices.stream().map(plan.grads()::get).toList();
            try {
                update(bucket, bucketGrads, key, config);
            } catch (RuntimeException e) {
                lastStepUpdates = List.copyOf(updates);
                throw new StepFailedException("step() failed while updating params " + indices + " of group "
                        + plan.group() + " on the " + key.path() + " path (" + first.deviceName + ", "
                        + ScalarTypes.of(first.dtype) + ", step " + key.step() + "); these parameters and their"
                        + " moments may be partly updated, their step counts did not advance; the "
                        + updates.size() + " bucket(s) before were updated", updates, update, e);
            }
            for (ParamState state : bucket.states) {
                state.step++;
            }
            tensorUpdatesByPath.merge(key.path(), (long) bucket.states.size(), Long::sum);
            updates.add(update);
        }
    }

    private void update(Bucket bucket, List<Tensor> bucketGrads, Bucket.Key key, NAdamWConfig config) {
        double stepSize = stepSize(config, key.step());
        switch (key.path()) {
            case FUSED -> {
                FusedUpdate.apply(bucket, bucket.widen(AtenOps.tensorList(bucketGrads)), config, stepSize);
                bucket.roundIntoParams();
            }
            case MULTI_TENSOR -> {
                MultiTensorUpdate.apply(bucket, bucket.widen(AtenOps.tensorList(bucketGrads)), config, stepSize);
                bucket.roundIntoParams();
            }
            case SINGLE_TENSOR -> {
                for (int i = 0; i < bucket.states.size(); i++) {
                    SingleTensorUpdate.apply(bucket.states.get(i), bucketGrads.get(i), config, stepSize);
                }
            }
        }
    }

    /** The bias-corrected step size {@code lr_t} of the update at {@code step} (0-based). */
    private double stepSize(NAdamWConfig config, long step) {
        return BiasCorrection.stepSize(config, CosineSchedule.learningRate(config, step, trainingSteps, variant),
                step + 1);
    }

    /** The path chosen for one parameter at one step, and why it is slower than {@link #updatePath}; empty if not. */
    private record PathChoice(UpdatePath path, String fallbackReason) {
    }

    private static final PathChoice FUSED_AS_ASKED = new PathChoice(UpdatePath.FUSED, "");
    private static final PathChoice MULTI_TENSOR_AS_ASKED = new PathChoice(UpdatePath.MULTI_TENSOR, "");
    private static final PathChoice SINGLE_TENSOR_AS_ASKED = new PathChoice(UpdatePath.SINGLE_TENSOR, "");
    private static final Set<Integer> FUSED_DTYPES = Set.of((int) ScalarType.Double.value,
            (int) ScalarType.Float.value, (int) ScalarType.Half.value, (int) ScalarType.BFloat16.value);

    /**
     * The one place that decides which path updates a parameter at this step: the fastest that {@link #updatePath}
     * allows and that can run on it. The fused kernels need a CPU or CUDA device, one of their dtypes, a gradient
     * of the parameter's dtype, and parameter and gradient dense, non-overlapping and with the same strides in every
     * dimension longer than 1 (any such layout, channels-last included, as in torch); a widened update runs on
     * float32 copies laid out alike, so only the device matters then. They cannot run the step at which an entry's
     * L2 term and decoupled decay would divide by zero ({@link FusedUpdate#canRun}).
     */
    private PathChoice choosePath(ParamState state, Tensor grad, NAdamWConfig config) {
        if (updatePath == UpdatePath.SINGLE_TENSOR) {
            return SINGLE_TENSOR_AS_ASKED;
        }
        if (!AtenOps.available()) {
            return new PathChoice(UpdatePath.SINGLE_TENSOR,
                    "this LibTorch lacks the multi-tensor and fused operators this library calls");
        }
        if (updatePath == UpdatePath.MULTI_TENSOR) {
            return MULTI_TENSOR_AS_ASKED;
        }
        String refusal = fusedKernelRefusal(state, grad, config);
        return refusal == null ? FUSED_AS_ASKED : new PathChoice(UpdatePath.MULTI_TENSOR, refusal);
    }

    /** Why the fused kernels cannot update this parameter at this step, or null if they can. */
    private String fusedKernelRefusal(ParamState state, Tensor grad, NAdamWConfig config) {
        Tensor param = state.param;
        if (!param.is_cpu() && !param.is_cuda()) {
            return state.position + " is on " + state.deviceName + "; the fused kernels run on CPU and CUDA";
        }
        if (!FUSED_DTYPES.contains(state.stateDtype)) {
            return state.position + " is updated in " + ScalarTypes.of(state.stateDtype)
                    + "; the fused kernels take Double, Float, Half and BFloat16";
        }
        if (!state.widened()) {
            if (grad.scalar_type().value != state.dtype) {
                return state.position + " has dtype " + param.scalar_type() + " but its gradient "
                        + grad.scalar_type();
            }
            if (!state.dense()) {
                return state.position + " is not dense and non-overlapping (strides "
                        + Arrays.toString(state.strides()) + ")";
            }
            if (!state.laidOutAsState(grad)) {
                return state.position + " has strides " + Arrays.toString(state.strides()) + " but its gradient "
                        + Arrays.toString(ParamState.strides(grad));
            }
        }
        if (config.l2WeightDecay() != 0 && config.adamwWeightDecay() != 0
                && !FusedUpdate.canRun(config, stepSize(config, state.step))) {
            return "the decoupled decay of " + config.name() + " would wipe the parameters at step " + state.step
                    + " (1 - lr_t * adamwWeightDecay == 0), which the fused mapping divides by";
        }
        return null;
    }

    /**
     * Chooses the fastest way {@code step()} may apply the update; {@link UpdatePath#FUSED} by default. Where the
     * chosen path cannot run (see {@link UpdatePath}), the next slower one is taken, tensor by tensor.
     *
     * @throws IllegalArgumentException if {@code path} is null
     * @throws IllegalStateException    if the optimizer is closed
     */
    public void setUpdatePath(UpdatePath path) {
        requireOpen();
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        this.updatePath = path;
    }

    /** The fastest update path {@code step()} may use; see {@link #setUpdatePath}. */
    public UpdatePath updatePath() {
        return updatePath;
    }

    /**
     * How each bucket of parameters was updated at the last {@code step()}: its group, parameters, device, dtype,
     * step and path, and why the path is slower than {@link #updatePath()} when it is. Empty before the first step
     * and after a skipped one.
     */
    public List<BucketUpdate> lastStepUpdates() {
        return lastStepUpdates;
    }

    /**
     * Chooses what float16 and bfloat16 parameters keep, and compute their update in; {@link StatePrecision#FLOAT32}
     * by default. Parameters in float32 and float64 are the same under every value. Choose before the first step
     * (and before {@link #load}): state created under one precision is not converted to another.
     *
     * @throws IllegalArgumentException if {@code precision} is null
     * @throws IllegalStateException    if the precision would change while some parameter already has state, or
     *                                  the optimizer is closed
     */
    public void setStatePrecision(StatePrecision precision) {
        requireOpen();
        if (precision == null) {
            throw new IllegalArgumentException("precision must not be null");
        }
        if (precision == statePrecision) {
            return;
        }
        for (List<ParamState> groupStates : states) {
            for (ParamState state : groupStates) {
                if (state.initialized()) {
                    throw new IllegalStateException("cannot change the state precision from " + statePrecision
                            + " to " + precision + ": " + state.position + " already has state (created at its first"
                            + " step or by load); choose the precision on a fresh optimizer, before step() and load()");
                }
            }
        }
        this.statePrecision = precision;
    }

    /** What float16 and bfloat16 parameters keep and compute in; see {@link #setStatePrecision}. */
    public StatePrecision statePrecision() {
        return statePrecision;
    }

    /** How many tensor updates each path has applied, for tests that must know which path ran. */
    long tensorUpdates(UpdatePath path) {
        return tensorUpdatesByPath.getOrDefault(path, 0L);
    }

    /**
     * Re-evaluates the model with {@code closure} (with gradients enabled), then applies one update. The closure
     * typically zeroes the gradients, computes the loss, calls {@code backward()} and returns the loss.
     *
     * @return the closure's loss, owned by the caller
     * @throws IllegalArgumentException if {@code closure} is null, or as {@link #step()}
     * @throws StepFailedException      as {@link #step()}
     * @throws IllegalStateException    if the optimizer is closed, before the closure runs
     */
    public Tensor step(Supplier<Tensor> closure) {
        requireOpen();
        if (closure == null) {
            throw new IllegalArgumentException("closure must not be null");
        }
        Tensor loss;
        try (AutoGradMode gradEnabled = new AutoGradMode(true)) {
            loss = closure.get();
        }
        step();
        return loss;
    }

    /**
     * Opt-in: check every gradient for NaN and infinity before a step and skip the whole step when one is found,
     * leaving parameters, moments and step counts unchanged. Off by default, when non-finite values flow into the
     * parameters exactly as the update formula says. The check costs one host synchronization per step and
     * device (a stall of the GPU's queue on CUDA) plus one pass over the gradients.
     *
     * @throws IllegalStateException if the optimizer is closed
     */
    public void setSkipNonFiniteSteps(boolean skip) {
        requireOpen();
        this.skipNonFiniteSteps = skip;
    }

    /** Whether steps with non-finite gradients are skipped; see {@link #setSkipNonFiniteSteps}. */
    public boolean skipsNonFiniteSteps() {
        return skipNonFiniteSteps;
    }

    /** The number of steps skipped for non-finite gradients. */
    public long skippedSteps() {
        return skippedSteps;
    }

    /**
     * Called with {@link #stepCount()} each time a step is skipped for non-finite gradients.
     *
     * @throws IllegalArgumentException if {@code listener} is null
     * @throws IllegalStateException    if the optimizer is closed
     */
    public void setSkippedStepListener(LongConsumer listener) {
        requireOpen();
        if (listener == null) {
            throw new IllegalArgumentException("listener must not be null");
        }
        this.skippedStepListener = listener;
    }

    /**
     * Writes the optimizer's state to one file, atomically: the file is written aside (as {@code <name>.tmp<pid>-<n>}
     * in the same folder), flushed to the device, renamed over {@code path}, and the folder flushed, so
     * {@code path} holds either its previous bytes or the whole new checkpoint, even across a crash or a power
     * failure. What is saved: per-parameter step counts, both moments and any master copies (through LibTorch's
     * archive), every group's configuration, the training length, the schedule variant, the state precision and a
     * format version; the archive's zip CRC32s let {@link #load} detect damage. The state of a parameter that moved
     * since its last update is moved after it first. The parameters themselves belong to the model: save it with
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
    public void save(Path path) throws IOException {
        requireOpen();
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            followParameters();
        }
        Checkpoints.save(this, states, path);
    }

    /**
     * Restores the state saved by {@link #save(Path)} into this optimizer, which must be built over the same
     * parameters in the same groups and order, with the same configurations, training length and schedule
     * variant, and, for float16 and bfloat16 parameters, the same {@linkplain #setStatePrecision state precision}
     * (format 2 files hold state in the parameters' dtype). Moments saved on one device load onto the parameters'
     * device, whatever it is. The file is read once, whole, and every zip entry's CRC32 is checked before LibTorch
     * parses any of it, so a damaged file (a flipped bit in a moment, the metadata or the archive's structure) is
     * refused rather than loaded. Everything is checked before anything changes: after a refused load the optimizer
     * is exactly as it was. The file's size is held in native memory for the time of the call.
     *
     * @throws IllegalArgumentException          if {@code path} is null
     * @throws java.nio.file.NoSuchFileException if there is no file at {@code path}
     * @throws CheckpointException               if the file is damaged (naming the damaged entry or structure),
     *                                           truncated, foreign, from a newer format version, or does not match
     *                                           this optimizer (another model, dtype, config or state precision)
     * @throws IOException                       if the file cannot be read
     */
    public void load(Path path) throws IOException {
        requireOpen();
        Checkpoints.load(this, states, path);
        buckets.forEach(Buckets::clear);
    }

    void restoreStepCount(long count) {
        this.stepCount = count;
    }

    /**
     * A copy of {@code param}'s state, as torch's {@code optimizer.state_dict()["state"][i]}: its step count and, once
     * it was updated, fresh copies of both moments (and of its master copy, if it has one) on the state's device, owned by the caller (attached to the
     * caller's innermost {@link PointerScope}, if any). Changing them does not change this optimizer.
     *
     * @throws IllegalArgumentException if this optimizer does not hold {@code param}
     * @throws IllegalStateException    if the optimizer is closed
     */
    public ParamStateDict stateDict(Tensor param) {
        requireOpen();
        ParamState state = stateOf(param);
        if (!state.initialized()) {
            return new ParamStateDict(state.step, null, null);
        }
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return new ParamStateDict(state.step, state.expAvg.clone(), state.expAvgSq.clone(),
                    state.master == null ? null : state.master.clone());
        }
    }

    /**
     * Replaces {@code param}'s state with {@code state}, copying the moments (converted to the dtype and device this
     * optimizer keeps them in); a state at step 0 frees the parameter's moments. Everything is checked first: a
     * refused state leaves the optimizer as it was. The optimizer's own {@link #stepCount()} is not changed; see
     * {@link #setStepCount(long)}.
     *
     * @throws IllegalArgumentException if this optimizer does not hold {@code param}, {@code state} is null, or its
     *                                  moments are not floating point or have another shape than {@code param}
     * @throws IllegalStateException    if the optimizer is closed
     */
    public void loadStateDict(Tensor param, ParamStateDict state) {
        requireOpen();
        ParamState target = stateOf(param);
        if (state == null) {
            throw new IllegalArgumentException("state must not be null");
        }
        if (state.hasMoments()) {
            for (Tensor moment : new Tensor[]{state.expAvg(), state.expAvgSq()}) {
                if (!java.util.Arrays.equals(moment.shape(), target.param.shape())) {
                    throw new IllegalArgumentException(target.position + " has shape "
                            + java.util.Arrays.toString(target.param.shape()) + ", the given moments "
                            + java.util.Arrays.toString(moment.shape()));
                }
                if (!moment.is_floating_point()) {
                    throw new IllegalArgumentException("the moments for " + target.position
                            + " must be floating point, got " + moment.scalar_type());
                }
            }
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            if (!state.hasMoments()) {
                target.release();
            } else {
                if (target.initialized() && !target.hasShape(target.param)) {
                    // The parameter was resized after its first update: its old state cannot follow it.
                    target.release();
                }
                if (!target.initialized()) {
                    target.initialize(statePrecision());
                } else {
                    target.follow();
                }
                target.expAvg.copy_(state.expAvg());
                target.expAvgSq.copy_(state.expAvgSq());
                if (target.master != null) {
                    // Without a saved master copy the parameter's own value is the best there is.
                    target.master.copy_(state.master() != null ? state.master() : target.param);
                }
            }
            target.step = state.step();
        }
        buckets.forEach(Buckets::clear);
    }

    /**
     * Sets the number of completed {@code step()} calls {@link #stepCount()} reports, e.g. after moving every
     * parameter's state in with {@link #loadStateDict}; the schedule follows each parameter's own step count, not
     * this one.
     *
     * @throws IllegalArgumentException if {@code count} is negative
     * @throws IllegalStateException    if the optimizer is closed
     */
    public void setStepCount(long count) {
        requireOpen();
        if (count < 0) {
            throw new IllegalArgumentException("count must not be negative, got " + count);
        }
        restoreStepCount(count);
    }

    /**
     * One entry per parameter in group order: its gradient, or null when it has none. Refuses, before anything
     * changes, every gradient that does not fit its parameter ({@link TensorChecks#requireGradientFits}).
     */
    private List<Tensor> gradientsOrRefuse() {
        List<Tensor> grads = new ArrayList<>();
        for (List<ParamState> groupStates : states) {
            for (ParamState state : groupStates) {
                Tensor grad = state.param.grad();
                if (grad.defined()) {
                    TensorChecks.requireGradientFits(state, grad);
                    grads.add(grad);
                } else {
                    grads.add(null);
                }
            }
        }
        return grads;
    }

    /** The state of {@code param}, for this class and its tests. */
    ParamState stateOf(Tensor param) {
        if (param == null || param.isNull() || !param.defined()) {
            throw new IllegalArgumentException("param must be a defined tensor");
        }
        ParamState state = stateByTensor.get(TensorChecks.identity(param));
        if (state == null) {
            throw new IllegalArgumentException("this optimizer does not hold the given tensor");
        }
        return state;
    }

    private static String position(int group, int index) {
        return "params[" + index + "] of group " + group;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this optimizer is closed: its state was freed");
        }
    }

    /**
     * Frees the moments and scratch buffers now instead of at garbage collection; the parameters are untouched.
     * A closed optimizer refuses every call that would use its parameters or state ({@code step},
     * {@code zeroGrad}, {@code addParamGroup}, {@code learningRate}, {@code stepCount(Tensor)}, {@code stateDict},
     * {@code loadStateDict}, {@code save}, {@code load} and the setters) with an {@link IllegalStateException};
     * the getters of plain values ({@code stepCount()}, {@code paramGroups()}, {@code trainingSteps()}, ...) still
     * answer. Closing again does nothing.
     */
    @Override
    public void close() {
        closed = true;
        buckets.forEach(Buckets::clear);
        nonFinite.release();
        for (List<ParamState> groupStates : states) {
            groupStates.forEach(ParamState::release);
        }
    }
}
