package io.github.optlist.torch;

import io.github.optlist.BiasCorrection;
import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.internal.AtenOps;
import io.github.optlist.internal.DeviceDtype;
import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One parameter group of an optimizer: its configuration, its parameters' states, and the tensor lists of its
 * buckets, kept from step to step. A step sorts the parameters with a gradient into buckets (same device, dtype,
 * step count and {@linkplain PathDecision path}), updates each bucket with one set of calls, and reports each.
 * Normally every parameter has a gradient at every step and the same step count, so the group is one bucket whose
 * lists are built once.
 */
final class GroupStepper {

    /** What the parameters of a bucket share: the kernels take one dtype and device, the step one step size. */
    private record BucketKey(DeviceDtype where, long step, UpdatePath path) {
    }

    private final int index;
    private final ParamGroup group;
    private final List<ParamState> states;
    private final long trainingSteps;
    private final ListVariant variant;
    private final OptimizerOptions options;
    private List<BucketTensorLists> buckets = List.of();

    GroupStepper(int index, ParamGroup group, long trainingSteps, ListVariant variant, OptimizerOptions options) {
        this.index = index;
        this.group = group;
        this.trainingSteps = trainingSteps;
        this.variant = variant;
        this.options = options;
        List<ParamState> made = new ArrayList<>(group.params().size());
        for (int i = 0; i < group.params().size(); i++) {
            made.add(new ParamState(group.params().get(i), "params[" + i + "] of group " + index));
        }
        this.states = List.copyOf(made);
    }

    ParamGroup group() {
        return group;
    }

    List<ParamState> states() {
        return states;
    }

    /** The learning rate of the next update of the most updated parameters (all of them, normally). */
    double nextLearningRate() {
        long next = 0;
        for (ParamState state : states) {
            next = Math.max(next, state.step);
        }
        return CosineSchedule.learningRate(group.config(), next, trainingSteps, variant);
    }

    /** Clears the gradients: to none if {@code setToNone}, else detached and zeroed. */
    void zeroGrad(boolean setToNone) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (Tensor param : group.params()) {
                Tensor grad = param.mutable_grad();
                if (!grad.defined()) {
                    continue;
                }
                if (setToNone) {
                    grad.reset();
                } else {
                    grad.detach_();
                    grad.zero_();
                }
            }
        }
    }

    /** The group's state: copies of its tensors in the caller's scope if {@code copy}, else the live ones. */
    GroupState state(boolean copy) {
        return new GroupState(group.config(), states.stream().map(state -> state.dict(copy)).toList());
    }

    /** Replaces every parameter's state with {@code state}'s, checked to fit beforehand. In a no-grad scope. */
    void load(GroupState state) {
        for (int i = 0; i < states.size(); i++) {
            states.get(i).load(state.params().get(i), options.statePrecision());
        }
        clearCaches();
    }

    /**
     * One entry per parameter in group order: its gradient, or null when it has none. Refuses, before anything
     * changes, sparse gradients and ones on another device than their parameter.
     */
    List<Tensor> gradientsOrRefuse() {
        List<Tensor> grads = new ArrayList<>(states.size());
        for (ParamState state : states) {
            Tensor grad = state.param.grad();
            if (grad.defined()) {
                TensorChecks.requireDenseGradient(grad, state.position);
                TensorChecks.requireSameDevice(grad, state.param, state.position);
                grads.add(grad);
            } else {
                grads.add(null);
            }
        }
        return grads;
    }

    /**
     * Updates the parameters that have a gradient ({@code grads}, from {@link #gradientsOrRefuse()}), bucket by
     * bucket, and reports each bucket to {@code reports}. Called inside a no-grad region and a scope.
     */
    void step(List<Tensor> grads, List<PathReport> reports) {
        NAdamWConfig config = group.config();
        Map<BucketKey, List<Integer>> members = new LinkedHashMap<>();
        Map<BucketKey, String> fallbackReasons = new HashMap<>();
        boolean moved = false;
        for (int i = 0; i < states.size(); i++) {
            ParamState state = states.get(i);
            Tensor grad = grads.get(i);
            if (grad == null) {
                continue;
            }
            if (!state.initialized()) {
                state.initialize(options.statePrecision());
            } else {
                moved |= state.follow();
            }
            PathDecision.PathChoice choice = PathDecision.choose(options.updatePath(), AtenOps.available(),
                    facts(state, grad), config, state.step, stepSize(state.step));
            BucketKey key = new BucketKey(state.where, state.step, choice.path());
            members.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
            if (!choice.fallbackReason().isEmpty()) {
                fallbackReasons.putIfAbsent(key, choice.fallbackReason());
            }
        }
        if (moved) {
            clearCaches();
        }
        List<BucketTensorLists> lists = listsFor(members.values());
        int b = 0;
        for (Map.Entry<BucketKey, List<Integer>> entry : members.entrySet()) {
            BucketKey key = entry.getKey();
            BucketTensorLists bucket = lists.get(b++);
            List<Tensor> bucketGrads = entry.getValue().stream().map(grads::get).toList();
            double stepSize = stepSize(key.step());
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
            for (ParamState state : bucket.states) {
                state.step++;
            }
            ParamState first = bucket.states.get(0);
            reports.add(new PathReport(index, entry.getValue(), key.path(), first.deviceName,
                    ScalarTypes.of(first.dtype).name(), ScalarTypes.of(first.stateDtype).name(),
                    key.step(), fallbackReasons.getOrDefault(key, "")));
        }
    }

    /** The facts the path decision reads, without allocating unless the gradient is laid out otherwise. */
    private static PathDecision.Facts facts(ParamState state, Tensor grad) {
        boolean laidOut = state.laidOutAsState(grad);
        return new PathDecision.Facts(state.position, state.deviceName, state.param.is_cpu() || state.param.is_cuda(),
                state.dtype, state.stateDtype, grad.scalar_type().value, state.dense(), state.strides(), laidOut,
                laidOut ? null : ParamState.strides(grad));
    }

    /** The bias-corrected step size {@code lr_t} of the update at {@code step} (0-based). */
    private double stepSize(long step) {
        NAdamWConfig config = group.config();
        return BiasCorrection.stepSize(config, CosineSchedule.learningRate(config, step, trainingSteps, variant),
                step + 1);
    }

    /**
     * The tensor lists for each set of parameters (by index), in order, reusing the previous step's lists of the
     * same set; frees the others.
     */
    private List<BucketTensorLists> listsFor(Iterable<List<Integer>> sets) {
        List<BucketTensorLists> next = new ArrayList<>();
        for (List<Integer> indices : sets) {
            List<ParamState> set = indices.stream().map(states::get).toList();
            BucketTensorLists match = null;
            for (BucketTensorLists lists : buckets) {
                if (lists.states.equals(set)) {
                    match = lists;
                    break;
                }
            }
            next.add(match != null ? match : new BucketTensorLists(set));
        }
        for (BucketTensorLists lists : buckets) {
            if (!next.contains(lists)) {
                lists.release();
            }
        }
        buckets = next;
        return next;
    }

    /**
     * Moves the state of every parameter that moved to another device, dtype or layout ({@link ParamState#follow});
     * {@link #step} does it for the parameters it updates. Called inside a no-grad region and a scope.
     */
    void followParameters() {
        boolean moved = false;
        for (ParamState state : states) {
            if (state.initialized()) {
                moved |= state.follow();
            }
        }
        if (moved) {
            clearCaches();
        }
    }

    /** Drops the tensor lists, e.g. when the state tensors were replaced. */
    void clearCaches() {
        buckets.forEach(BucketTensorLists::release);
        buckets = List.of();
    }

    /** Frees the tensor lists and every state tensor. */
    void release() {
        clearCaches();
        states.forEach(ParamState::release);
    }
}
