package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;

import org.bytedeco.pytorch.Tensor;

/**
 * One parameter's optimizer state, as an entry of torch's {@code optimizer.state_dict()["state"]}: its step count,
 * both moments, and under {@link StatePrecision#FLOAT32_MASTER_WEIGHTS} the float32 master copy of a half-precision
 * parameter. Read with {@link NAdamWCosineDecay#stateDict(Tensor)}, written with
 * {@link NAdamWCosineDecay#loadStateDict(Tensor, ParamStateDict)}; used to move state between optimizers that hold
 * the same parameter, e.g. to consolidate a sharded optimizer's state.
 *
 * <p>The constructor refuses, with an {@link IllegalArgumentException}, a step that is negative or above
 * {@link io.github.optlist.CosineSchedule#MAX_STEPS}, and moments that do not
 * match the step: a parameter with {@code step == 0} has no moments (both null), one with {@code step > 0} has both,
 * defined and of one shape.
 *
 * @param step     the number of updates applied to the parameter
 * @param expAvg   the first moment ({@code exp_avg}), or null when {@code step == 0}
 * @param expAvgSq the second moment ({@code exp_avg_sq}), or null when {@code step == 0}
 * @param master   the float32 master copy of the parameter, or null when there is none (the parameter is not half
 *                 precision, the state precision keeps none, or {@code step == 0})
 */
public record ParamStateDict(long step, Tensor expAvg, Tensor expAvgSq, Tensor master) {

    /** A state without a master copy. */
    public ParamStateDict(long step, Tensor expAvg, Tensor expAvgSq) {
        this(step, expAvg, expAvgSq, null);
    }

    /** Validates; see the class description. */
    public ParamStateDict {
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
    public static ParamStateDict empty() {
        return new ParamStateDict(0, null, null);
    }

    /** Whether the parameter has moments ({@code step > 0}). */
    public boolean hasMoments() {
        return step > 0;
    }
}
