package io.github.optlist.torch;

import org.bytedeco.pytorch.Tensor;

/**
 * One parameter's optimizer state, as an entry of torch's {@code optimizer.state_dict()["state"]}: its step count
 * and both moments. Read with {@link NAdamWCosineDecay#stateDict(Tensor)}, written with
 * {@link NAdamWCosineDecay#loadStateDict(Tensor, ParamStateDict)}; used to move state between optimizers that hold
 * the same parameter, e.g. to consolidate a sharded optimizer's state.
 *
 * <p>The constructor refuses, with an {@link IllegalArgumentException}, a negative step, and moments that do not
 * match the step: a parameter with {@code step == 0} has no moments (both null), one with {@code step > 0} has both,
 * defined and of one shape.
 *
 * @param step     the number of updates applied to the parameter
 * @param expAvg   the first moment ({@code exp_avg}), or null when {@code step == 0}
 * @param expAvgSq the second moment ({@code exp_avg_sq}), or null when {@code step == 0}
 */
public record ParamStateDict(long step, Tensor expAvg, Tensor expAvgSq) {

    /** Validates; see the class description. */
    public ParamStateDict {
        if (step < 0) {
            throw new IllegalArgumentException("step must not be negative, got " + step);
        }
        boolean hasMoments = expAvg != null || expAvgSq != null;
        if (step == 0 && hasMoments) {
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
