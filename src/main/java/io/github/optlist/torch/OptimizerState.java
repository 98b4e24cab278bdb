package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.internal.ScalarTypes;
import io.github.optlist.internal.TrainingSteps;
import io.github.optlist.torch.files.StateMatching;
import io.github.optlist.torch.files.Target;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The whole state of an optimizer, as torch's {@code state_dict()}: the training length and list variant its
 * schedule is laid out by, the precision it keeps half-precision state in, its step count, and per group the
 * configuration and every parameter's {@link Param}. {@link ListOptimizer#state()} gives one,
 * {@link ListOptimizer#loadState} takes one; checkpoints are one written to a file, and a sharded optimizer
 * consolidates its ranks' shares into one.
 *
 * <p>The tensors belong to whoever made the state (for {@code state()}, the caller). The constructor refuses, with an
 * {@link IllegalArgumentException}, a training length outside {@code [1, 2^53]}, a null variant or precision, a step
 * count outside {@code [0, CosineSchedule.MAX_STEPS]}, and null or no groups.
 *
 * @param trainingSteps  the training length the schedule is laid out over
 * @param variant        the list variant whose warm-up length the schedule uses
 * @param statePrecision what half-precision parameters keep their state in
 * @param stepCount      the number of completed {@code step()} calls
 * @param groups         the groups' states, in order
 */
public record OptimizerState(long trainingSteps, ListVariant variant, StatePrecision statePrecision, long stepCount,
                             List<Group> groups) {

    /** Validates and copies the list; see the class description. */
    public OptimizerState {
        TrainingSteps.require(trainingSteps);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        if (statePrecision == null) {
            throw new IllegalArgumentException("statePrecision must not be null");
        }
        if (stepCount < 0 || stepCount > CosineSchedule.MAX_STEPS) {
            throw new IllegalArgumentException("stepCount must be in [0, 2^53] (CosineSchedule.MAX_STEPS), got "
                    + stepCount);
        }
        if (groups == null || groups.isEmpty() || groups.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("an optimizer state needs at least one group and no null one, got "
                    + (groups == null ? "null" : groups.isEmpty() ? "none" : "a null group"));
        }
        groups = List.copyOf(groups);
    }

    /**
     * Refuses a state that does not fit an optimizer over {@code paramGroups} with this training length, variant
     * and state precision, as {@link #fittedTo} checks it. Changes nothing.
     *
     * @throws IllegalArgumentException naming the first mismatch
     */
    void requireFits(List<ParamGroup> paramGroups, long trainingSteps, ListVariant variant,
                            StatePrecision precision) {
        fittedTo(paramGroups, trainingSteps, variant, precision);
    }

    /**
     * This state laid out as an optimizer over {@code paramGroups} holds it, once checked to fit one with this
     * training length, variant and state precision: the state {@code loadState} takes, group by group and parameter
     * by parameter.
     *
     * <p>When every parameter of this state and of {@code paramGroups} has a name, parameters are matched by name,
     * within and across groups (a model whose parameters were reordered or regrouped gets each parameter's own
     * state); the result has {@code paramGroups}' groups, configurations and names. Refused then: a name given twice
     * on one side, name sets that differ (naming the first name of this state the model lacks, and the first of the
     * model's names this state lacks), and a parameter whose group here has another configuration than its group in
     * this state. Otherwise (either side has an unnamed group) parameters are matched by position, and refused are:
     * another number of groups or of parameters in a group, and another configuration (compared by value).
     *
     * <p>Refused in both cases: another training length or variant, moments or master copies of another shape than
     * their parameter, state tensors without values (on the {@code meta} device, sparse), and state kept in another
     * dtype, or with or without a master copy, than {@code precision} keeps for the parameter (state is not
     * converted from one precision to another; float32 and float64 parameters are the same under every precision).
     * Changes nothing; the result shares this state's tensors.
     *
     * @throws IllegalArgumentException naming the first mismatch
     */
    public OptimizerState fittedTo(List<ParamGroup> paramGroups, long trainingSteps, ListVariant variant,
                                   StatePrecision precision) {
        if (paramGroups == null || paramGroups.isEmpty() || paramGroups.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("paramGroups must not be null, empty or hold null");
        }
        if (this.trainingSteps != trainingSteps) {
            throw new IllegalArgumentException("the state was saved with trainingSteps " + this.trainingSteps
                    + ", this optimizer has " + trainingSteps);
        }
        if (this.variant != variant) {
            throw new IllegalArgumentException("the state was saved with list variant " + this.variant
                    + ", this optimizer has " + variant);
        }
        List<Target> targets = CheckpointFiles.targets(paramGroups);
        OptimizerState laidOut = laidOutAs(paramGroups, targets);
        for (int g = 0; g < laidOut.groups.size(); g++) {
            Group group = laidOut.groups.get(g);
            Target target = targets.get(g);
            for (int i = 0; i < group.params().size(); i++) {
                requireFits(group.params().get(i), target.params().get(i), StateMatching.where(target, g, i),
                        precision);
            }
        }
        return laidOut;
    }

    /** This state in {@code paramGroups}' layout, matched by name or by position (checking counts and configs). */
    private OptimizerState laidOutAs(List<ParamGroup> paramGroups, List<Target> targets) {
        List<List<String>> names = groups.stream().map(Group::paramNames).toList();
        if (StateMatching.byName(names, targets)) {
            List<List<StateMatching.Source>> sources = StateMatching.match(names,
                    groups.stream().map(Group::config).toList(), targets, "the state");
            List<Group> laidOut = new ArrayList<>(paramGroups.size());
            for (int g = 0; g < paramGroups.size(); g++) {
                List<Param> dicts = sources.get(g).stream()
                        .map(s -> groups.get(s.group()).params().get(s.index())).toList();
                laidOut.add(new Group(paramGroups.get(g).config(), paramGroups.get(g).names(), dicts));
            }
            return new OptimizerState(trainingSteps, variant, statePrecision, stepCount, laidOut);
        }
        if (groups.size() != paramGroups.size()) {
            throw new IllegalArgumentException("the state holds " + groups.size() + " parameter groups, this"
                    + " optimizer " + paramGroups.size() + " (another model?)");
        }
        for (int g = 0; g < groups.size(); g++) {
            Group group = groups.get(g);
            ParamGroup target = paramGroups.get(g);
            if (!group.config().equals(target.config())) {
                throw new IllegalArgumentException("group " + g + " of the state has config " + group.config()
                        + ", this optimizer has " + target.config());
            }
            if (group.params().size() != target.params().size()) {
                throw new IllegalArgumentException("group " + g + " of the state holds " + group.params().size()
                        + " parameters, this optimizer " + target.params().size() + " (another model?)");
            }
        }
        return this;
    }

    private void requireFits(Param saved, Tensor param, String where, StatePrecision precision) {
        if (!saved.hasMoments()) {
            return;
        }
        long[] shape = param.shape();
        for (Tensor tensor : saved.master() == null ? new Tensor[]{saved.expAvg(), saved.expAvgSq()}
                : new Tensor[]{saved.expAvg(), saved.expAvgSq(), saved.master()}) {
            ParamState.requireValues(tensor, where);
            if (!Arrays.equals(tensor.shape(), shape)) {
                throw new IllegalArgumentException(where + " has shape " + Arrays.toString(shape)
                        + ", its state " + Arrays.toString(tensor.shape()) + " (another model?)");
            }
        }
        int dtype = param.scalar_type().value;
        String stateDtype = ScalarTypes.of(StatePrecision.stateDtypeFor(dtype, precision)).toString();
        boolean master = StatePrecision.keepsMaster(dtype, precision);
        String savedDtype = saved.expAvg().scalar_type().toString();
        boolean fits = savedDtype.equals(stateDtype) && saved.expAvgSq().scalar_type().toString().equals(stateDtype)
                && (saved.master() != null) == master
                && (saved.master() == null || saved.master().scalar_type().toString().equals("Float"));
        if (!fits) {
            throw new IllegalArgumentException(where + " has its state in " + savedDtype
                    + (saved.master() != null ? " with a float32 master copy" : "") + " in the given state (state"
                    + " precision " + statePrecision + "), in " + stateDtype
                    + (master ? " with a float32 master copy" : "") + " here (state precision " + precision
                    + "); build the optimizer with OptimizerOptions.builder().statePrecision(StatePrecision."
                    + statePrecision + ") to resume it");
        }
    }

    /**
     * One parameter group's part of an {@link OptimizerState}, as an entry of torch's
     * {@code state_dict()["param_groups"]} with its parameters' states: the configuration it runs and, in group order,
     * each parameter's state.
     *
     * <p>The constructor refuses, with an {@link IllegalArgumentException}, a null configuration, null or empty lists
     * of states, a null state, and names that are neither absent (an empty list) nor one per state.
     *
     * @param config     the group's configuration
     * @param paramNames the parameters' names in group order, or an empty list when they are unnamed
     * @param params     the parameters' states in group order
     */
    public record Group(NAdamWConfig config, List<String> paramNames, List<Param> params) {

        /** Validates and copies the lists; see the class description. */
        public Group {
            if (config == null) {
                throw new IllegalArgumentException("config must not be null");
            }
            if (params == null || params.isEmpty()) {
                throw new IllegalArgumentException("a group state needs at least one parameter state, got "
                        + (params == null ? "null" : "none"));
            }
            for (int i = 0; i < params.size(); i++) {
                if (params.get(i) == null) {
                    throw new IllegalArgumentException("params[" + i + "] is null");
                }
            }
            if (paramNames == null || paramNames.stream().anyMatch(java.util.Objects::isNull)) {
                throw new IllegalArgumentException("paramNames must not be or hold null; pass an empty list for unnamed"
                        + " parameters");
            }
            if (!paramNames.isEmpty() && paramNames.size() != params.size()) {
                throw new IllegalArgumentException("paramNames has " + paramNames.size() + " names for " + params.size()
                        + " parameter states");
            }
            params = List.copyOf(params);
            paramNames = List.copyOf(paramNames);
        }

        /** A group of unnamed parameters. */
        public Group(NAdamWConfig config, List<Param> params) {
            this(config, List.of(), params);
        }
    }

    /**
     * One parameter's optimizer state, as an entry of torch's {@code optimizer.state_dict()["state"]}: its step count,
     * both moments, and under {@link StatePrecision#FLOAT32_MASTER_WEIGHTS} the float32 master copy of a half-precision
     * parameter. Read with {@link NAdamWCosineDecay#stateDict(Tensor)}, written with
     * {@link NAdamWCosineDecay#loadStateDict(Tensor, Param)}; used to move state between optimizers that hold
     * the same parameter, e.g. to consolidate a sharded optimizer's state.
     *
     * <p>The constructor refuses, with an {@link IllegalArgumentException}, a step that is negative or above
     * {@link io.github.optlist.CosineSchedule#MAX_STEPS}, and moments that do not
     * match the step: a parameter with {@code step == 0} has no moments (both null), one with {@code step > 0} has
     * both,
     * defined and of one shape.
     *
     * @param step     the number of updates applied to the parameter
     * @param expAvg   the first moment ({@code exp_avg}), or null when {@code step == 0}
     * @param expAvgSq the second moment ({@code exp_avg_sq}), or null when {@code step == 0}
     * @param master   the float32 master copy of the parameter, or null when there is none (the parameter is not half
     *                 precision, the state precision keeps none, or {@code step == 0})
     */
    public record Param(long step, Tensor expAvg, Tensor expAvgSq, Tensor master) {

        /** A state without a master copy. */
        public Param(long step, Tensor expAvg, Tensor expAvgSq) {
            this(step, expAvg, expAvgSq, null);
        }

        /** Validates; see the class description. */
        public Param {
            if (step < 0 || step > CosineSchedule.MAX_STEPS) {
                throw new IllegalArgumentException("step must be in [0, 2^53] (CosineSchedule.MAX_STEPS), got " + step);
            }
            boolean hasMoments = expAvg != null || expAvgSq != null;
            if (step == 0 && (hasMoments || master != null)) {
                throw new IllegalArgumentException("a parameter at step 0 has no moments; pass null for both");
            }
            if (step > 0) {
                if (expAvg == null || expAvgSq == null || expAvg.isNull() || expAvgSq.isNull() || !expAvg.defined()
                        || !expAvgSq.defined()) {
                    throw new IllegalArgumentException("a parameter at step " + step + " needs both moments defined");
                }
                if (!java.util.Arrays.equals(expAvg.shape(), expAvgSq.shape())) {
                    throw new IllegalArgumentException("exp_avg has shape " + java.util.Arrays.toString(expAvg.shape())
                            + " but exp_avg_sq " + java.util.Arrays.toString(expAvgSq.shape()));
                }
                if (master != null && (master.isNull() || !master.defined()
                        || !java.util.Arrays.equals(master.shape(), expAvg.shape()))) {
                    throw new IllegalArgumentException("the master copy must be defined and shaped as the moments");
                }
            }
        }

        /** The state of a parameter that was never updated. */
        public static Param empty() {
            return new Param(0, null, null);
        }

        /** Whether the parameter has moments ({@code step > 0}). */
        public boolean hasMoments() {
            return step > 0;
        }
    }
}
