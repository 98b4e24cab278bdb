package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.pytorch.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The whole state of an optimizer, as torch's {@code state_dict()}: the training length and list variant its
 * schedule is laid out by, the precision it keeps half-precision state in, its step count, and per group the
 * configuration and every parameter's {@link ParamStateDict}. {@link ListOptimizer#state()} gives one,
 * {@link ListOptimizer#loadState} takes one; checkpoints are one written to a file, and a sharded optimizer
 * consolidates its ranks' shares into one.
 *
 * <p>The tensors belong to whoever made the state (for {@code state()}, the caller). The constructor refuses, with an
 * {@link IllegalArgumentException}, {@code trainingSteps <= 0}, a null variant or precision, a negative step count,
 * and null or no groups.
 *
 * @param trainingSteps  the training length the schedule is laid out over
 * @param variant        the list variant whose warm-up length the schedule uses
 * @param statePrecision what half-precision parameters keep their state in
 * @param stepCount      the number of completed {@code step()} calls
 * @param groups         the groups' states, in order
 */
public record OptimizerState(long trainingSteps, ListVariant variant, StatePrecision statePrecision, long stepCount,
                             List<GroupState> groups) {

    /** Validates and copies the list; see the class description. */
    public OptimizerState {
        CosineSchedule.requireTrainingSteps(trainingSteps);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        if (statePrecision == null) {
            throw new IllegalArgumentException("statePrecision must not be null");
        }
        if (stepCount < 0) {
            throw new IllegalArgumentException("stepCount must not be negative, got " + stepCount);
        }
        if (groups == null || groups.isEmpty() || groups.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("an optimizer state needs at least one group and no null one, got "
                    + (groups == null ? "null" : groups.isEmpty() ? "none" : "a null group"));
        }
        groups = List.copyOf(groups);
    }

    /**
     * Refuses a state that does not fit an optimizer over {@code paramGroups} with this training length, variant
     * and state precision: another training length or variant, another number of groups or of parameters in a
     * group, another configuration (compared by value), moments or master copies of another shape than their
     * parameter, and state kept in another dtype, or with or without a master copy, than {@code precision} keeps
     * for the parameter (state is not converted from one precision to another; float32 and float64 parameters are
     * the same under every precision). Changes nothing.
     *
     * @throws IllegalArgumentException naming the first mismatch
     */
    public void requireFits(List<ParamGroup> paramGroups, long trainingSteps, ListVariant variant,
                            StatePrecision precision) {
        if (this.trainingSteps != trainingSteps) {
            throw new IllegalArgumentException("the state was saved with trainingSteps " + this.trainingSteps
                    + ", this optimizer has " + trainingSteps);
        }
        if (this.variant != variant) {
            throw new IllegalArgumentException("the state was saved with list variant " + this.variant
                    + ", this optimizer has " + variant);
        }
        if (groups.size() != paramGroups.size()) {
            throw new IllegalArgumentException("the state holds " + groups.size() + " parameter groups, this"
                    + " optimizer " + paramGroups.size() + " (another model?)");
        }
        for (int g = 0; g < groups.size(); g++) {
            GroupState group = groups.get(g);
            ParamGroup target = paramGroups.get(g);
            if (!group.config().equals(target.config())) {
                throw new IllegalArgumentException("group " + g + " of the state has config " + group.config()
                        + ", this optimizer has " + target.config());
            }
            if (group.params().size() != target.params().size()) {
                throw new IllegalArgumentException("group " + g + " of the state holds " + group.params().size()
                        + " parameters, this optimizer " + target.params().size() + " (another model?)");
            }
            for (int i = 0; i < group.params().size(); i++) {
                requireFits(group.params().get(i), target.params().get(i), "params[" + i + "] of group " + g,
                        precision);
            }
        }
    }

    private void requireFits(ParamStateDict saved, Tensor param, String where, StatePrecision precision) {
        if (!saved.hasMoments()) {
            return;
        }
        long[] shape = param.shape();
        for (Tensor tensor : saved.master() == null ? new Tensor[]{saved.expAvg(), saved.expAvgSq()}
                : new Tensor[]{saved.expAvg(), saved.expAvgSq(), saved.master()}) {
            if (!Arrays.equals(tensor.shape(), shape)) {
                throw new IllegalArgumentException(where + " has shape " + Arrays.toString(shape)
                        + ", its state " + Arrays.toString(tensor.shape()) + " (another model?)");
            }
        }
        int dtype = param.scalar_type().value;
        String stateDtype = ScalarTypes.of(ParamState.stateDtypeFor(dtype, precision)).toString();
        boolean master = ParamState.keepsMaster(dtype, precision);
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
}
