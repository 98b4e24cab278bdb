package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.internal.AtenOps;
import io.github.optlist.internal.DeviceDtype;
import io.github.optlist.internal.NonFiniteCheck;
import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One parameter group of an optimizer: its configuration, its parameters' states, and the tensor lists of its
 * buckets, kept from step to step. It is the one dispatcher between {@code step()} and the update
 * ({@link NAdamWUpdate}): a step sorts the parameters with a gradient into buckets (same device, dtype, step count
 * and {@linkplain PathDecision path}), updates each bucket with one call of its path's strategy, and reports each.
 * Normally every parameter has a gradient at every step and the same step count, so the group is one bucket whose
 * lists are built once.
 */
final class GroupStepper {

    /** What the parameters of a bucket share: the kernels take one dtype and device, the step one step size. */
    record BucketKey(DeviceDtype where, long step, UpdatePath path) {
    }

    private final int index;
    private final ParamGroup group;
    private final List<ParamState> states;
    private final long trainingSteps;
    private final ListVariant variant;
    private final OptimizerOptions options;
    private final Map<Long, ParamState> byIdentity = new HashMap<>();
    private List<BucketTensorLists> buckets = List.of();
    /**
     * Where each parameter and its gradient are at this step ({@link DeviceDtype#of}, null without a gradient), read
     * once by {@link #gradientsOrRefuse()} for the checks and kept for {@link #prepare}: a dtype is read through an
     * enum, the dearest of the checks' native calls.
     */
    private final DeviceDtype[] paramWhere;
    private final DeviceDtype[] gradWhere;

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
        this.paramWhere = new DeviceDtype[states.size()];
        this.gradWhere = new DeviceDtype[states.size()];
        made.forEach(state -> byIdentity.put(TensorChecks.identity(state.param), state));
    }

    /** The state of the parameter whose {@linkplain TensorChecks#identity identity} is {@code identity}, or null. */
    ParamState stateOf(long identity) {
        return byIdentity.get(identity);
    }

    /** {@code check}'s verdict on {@code grads}, a LibTorch failure wrapped as the step's. */
    private static boolean allFinite(NonFiniteCheck check, List<Tensor> grads) {
        try {
            return check.allFinite(grads);
        } catch (RuntimeException e) {
            throw new StepFailedException("step() failed while checking the gradients for NaN and infinity;"
                    + " nothing was changed", List.of(), null, e);
        }
    }

    /**
     * One step of every group from the gradients divided by {@code gradScale}: checks every gradient of every group,
     * then (with a {@code nonFinite} check) skips the step when one holds NaN or infinity, then readies every group
     * and updates them in order. Opens its own scope and no-grad region.
     *
     * @return one report per bucket updated, or null when the step was skipped; nothing changed then
     * @throws IllegalArgumentException as {@link #gradientsOrRefuse()}; nothing changed then
     * @throws StepFailedException      as {@link #prepare} and {@link #apply}
     */
    static List<UpdatePath.Report> stepAll(List<GroupStepper> groups, NonFiniteCheck nonFinite, double gradScale) {
        List<UpdatePath.Report> reports = new ArrayList<>();
        // GradMode rather than a NoGradGuard: the same switch, without a native object to make and free each step.
        boolean gradEnabled = GradMode.is_enabled();
        try (PointerScope scope = new PointerScope()) {
            GradMode.set_enabled(false);
            List<List<Tensor>> grads = new ArrayList<>(groups.size());
            List<Tensor> all = new ArrayList<>();
            for (GroupStepper group : groups) {
                grads.add(group.gradientsOrRefuse());
                all.addAll(grads.get(grads.size() - 1));
            }
            if (nonFinite != null && !allFinite(nonFinite, all)) {
                return null;
            }
            List<Plan> plans = new ArrayList<>(groups.size());
            for (int g = 0; g < groups.size(); g++) {
                plans.add(groups.get(g).prepare(grads.get(g)));
            }
            for (int g = 0; g < groups.size(); g++) {
                groups.get(g).apply(plans.get(g), reports, gradScale);
            }
        } finally {
            GradMode.set_enabled(gradEnabled);
        }
        return Collections.unmodifiableList(reports);
    }

    ParamGroup group() {
        return group;
    }

    List<ParamState> states() {
        return states;
    }

    /**
     * The learning rate of the next update of the most updated parameters of group {@code index} of {@code groups}.
     *
     * @throws IllegalArgumentException if there is no such group
     */
    static double nextLearningRate(List<GroupStepper> groups, int index) {
        if (index < 0 || index >= groups.size()) {
            throw new IllegalArgumentException("groupIndex must be in [0, " + groups.size() + "), got " + index);
        }
        return groups.get(index).nextLearningRate();
    }

    /** The learning rate of the next update of the most updated parameters (all of them, normally). */
    private double nextLearningRate() {
        long next = 0;
        for (ParamState state : states) {
            next = Math.max(next, state.step);
        }
        return CosineSchedule.learningRate(group.config(), next, trainingSteps, variant);
    }

    /** The group's state: copies of its tensors in the caller's scope if {@code copy}, else the live ones. */
    OptimizerState.Group state(boolean copy) {
        return new OptimizerState.Group(group.config(), group.names(), states.stream().map(state
                -> state.dict(copy)).toList());
    }

    /** Refuses, with an {@link IllegalArgumentException}, a state {@link ParamState#prepare} cannot convert. */
    void requireLoadable(OptimizerState.Group state) {
        for (int i = 0; i < states.size(); i++) {
            states.get(i).requireLoadable(state.params().get(i));
        }
    }

    /**
     * Every parameter's state converted from {@code state}'s (checked to fit beforehand) by
     * {@link ParamState#prepare}, changing nothing; in a no-grad scope. On a LibTorch failure nothing made is kept.
     */
    List<ParamState.Loaded> prepare(OptimizerState.Group state) {
        List<ParamState.Loaded> loaded = new ArrayList<>(states.size());
        try {
            for (int i = 0; i < states.size(); i++) {
                loaded.add(states.get(i).prepare(state.params().get(i), options.statePrecision()));
            }
        } catch (RuntimeException e) {
            loaded.forEach(ParamState.Loaded::release);
            throw e;
        }
        return loaded;
    }

    /** Installs what {@link #prepare} made; cannot fail. */
    void commit(List<ParamState.Loaded> loaded) {
        for (int i = 0; i < states.size(); i++) {
            states.get(i).commit(loaded.get(i));
        }
        clearCaches();
    }

    /**
     * One entry per parameter in group order: its gradient, or null when it has none. Refuses, before anything
     * changes, every gradient that does not fit its parameter ({@link TensorChecks#requireGradientFits}).
     */
    List<Tensor> gradientsOrRefuse() {
        List<Tensor> grads = new ArrayList<>(states.size());
        for (int i = 0; i < states.size(); i++) {
            ParamState state = states.get(i);
            Tensor grad = state.param.grad();
            if (grad.defined()) {
                paramWhere[i] = DeviceDtype.of(state.param);
                gradWhere[i] = DeviceDtype.of(grad);
                TensorChecks.requireGradientFits(state, grad, paramWhere[i], gradWhere[i]);
                grads.add(grad);
            } else {
                paramWhere[i] = gradWhere[i] = null;
                grads.add(null);
            }
        }
        return grads;
    }

    /**
     * What one step of the group will do, made by {@link #prepare} without changing any parameter: the buckets with
     * their keys, parameter indices, tensor lists and fallback reasons, and the gradients (one entry per parameter).
     */
    record Plan(List<Tensor> grads, List<BucketKey> keys, List<List<Integer>> members,
                List<BucketTensorLists> lists, List<String> fallbackReasons) {
    }

    /**
     * Readies the parameters that have a gradient ({@code grads}, from {@link #gradientsOrRefuse()}) for their update
     * without changing any parameter: creates the state of those at their first update, moves the state of moved
     * ones, and sorts them into buckets. Called inside a no-grad region and a scope.
     *
     * @throws StepFailedException if LibTorch fails making or moving a state; no parameter was changed
     */
    Plan prepare(List<Tensor> grads) {
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
            try {
                if (!state.initialized()) {
                    state.initialize(options.statePrecision());
                } else {
                    moved |= state.follow(paramWhere[i]);
                }
            } catch (RuntimeException e) {
                clearCaches();
                throw new StepFailedException("step() failed while " + (state.initialized() ? "moving" : "creating")
                        + " the state of " + state.position + "; no parameter was changed", List.of(), null, e);
            }
            PathDecision.PathChoice choice = PathDecision.choose(options.updatePath(), AtenOps.available(),
                    facts(state, grad, gradWhere[i].dtype()), config, state.step,
                    NAdamWUpdate.stepSize(config, state.step, trainingSteps, variant));
            BucketKey key = new BucketKey(state.layout().where(), state.step, choice.path());
            members.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
            if (!choice.fallbackReason().isEmpty()) {
                fallbackReasons.putIfAbsent(key, choice.fallbackReason());
            }
        }
        if (moved) {
            clearCaches();
        }
        List<BucketKey> keys = new ArrayList<>(members.keySet());
        return new Plan(grads, keys, new ArrayList<>(members.values()), listsFor(members.values()),
                keys.stream().map(key -> fallbackReasons.getOrDefault(key, "")).toList());
    }

    /**
     * Updates the group bucket by bucket as {@code plan} says, from its gradients divided by {@code gradScale} (1 for a
     * plain step), calling each bucket's strategy in {@link NAdamWUpdate}, and reports each bucket to {@code reports}.
     *
     * @throws StepFailedException if LibTorch fails, naming the bucket; {@code reports} holds the buckets updated
     */
    void apply(Plan plan, List<UpdatePath.Report> reports, double gradScale) {
        NAdamWConfig config = group.config();
        for (int b = 0; b < plan.lists().size(); b++) {
            BucketKey key = plan.keys().get(b);
            BucketTensorLists bucket = plan.lists().get(b);
            List<Integer> indices = plan.members().get(b);
            StateLayout first = bucket.states.get(0).layout();
            UpdatePath.Report report = new UpdatePath.Report(index, indices, key.path(), first.deviceName(),
                    ScalarTypes.of(first.dtype()).name(), ScalarTypes.of(first.stateDtype()).name(), key.step(),
                    plan.fallbackReasons().get(b));
            try {
                List<Tensor> grads = indices.stream().map(plan.grads()::get).toList();
                double stepSize = NAdamWUpdate.stepSize(config, key.step(), trainingSteps, variant);
                switch (key.path()) {
                    case FUSED -> NAdamWUpdate.fused(bucket, grads, config, stepSize, gradScale);
                    case MULTI_TENSOR -> NAdamWUpdate.multiTensor(bucket, grads, config, stepSize, gradScale);
                    case SINGLE_TENSOR -> NAdamWUpdate.singleTensor(bucket, grads, config, stepSize, gradScale);
                }
            } catch (RuntimeException e) {
                bucket.dropGradients();
                throw new StepFailedException("step() failed while updating params " + indices + " of group "
                        + index + " on the " + key.path() + " path (" + first.deviceName() + ", "
                        + ScalarTypes.of(first.dtype()) + ", step " + key.step() + "); these parameters and their"
                        + " moments may be partly updated, their step counts did not advance; the "
                        + reports.size() + " bucket(s) before were updated", reports, report, e);
            }
            bucket.dropGradients();
            for (ParamState state : bucket.states) {
                state.step++;
            }
            reports.add(report);
        }
    }

    /** The facts the path decision reads, without allocating unless the gradient is laid out otherwise. */
    private static PathDecision.Facts facts(ParamState state, Tensor grad, int gradDtype) {
        StateLayout layout = state.layout();
        boolean laidOut = layout.laidOutAsState(grad);
        return new PathDecision.Facts(state.position, layout.deviceName(),
                state.param.is_cpu() || state.param.is_cuda(), layout.dtype(), layout.stateDtype(),
                gradDtype, layout.dense(), layout.strides(), laidOut,
                laidOut ? null : StateLayout.strides(grad));
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
