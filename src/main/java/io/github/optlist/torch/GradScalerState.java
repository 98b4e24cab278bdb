package io.github.optlist.torch;

/**
 * The state of a {@link GradScaler}, as torch's {@code scaler.state_dict()}: the scale, its settings and the number
 * of good steps since the scale last changed. Save it beside the optimizer's checkpoint and give it back to
 * {@link GradScaler#loadState} on resume.
 *
 * @param scale          the current scale (finite, positive)
 * @param growthFactor   the factor the scale grows by (greater than 1)
 * @param backoffFactor  the factor the scale shrinks by (in (0, 1))
 * @param growthInterval the number of good steps in a row after which the scale grows (positive)
 * @param growthTracker  the good steps in a row so far, in {@code [0, growthInterval)}
 */
public record GradScalerState(double scale, double growthFactor, double backoffFactor, int growthInterval,
                              int growthTracker) {

    /** Validates; see the parameters. */
    public GradScalerState {
        check(scale, growthFactor, backoffFactor, growthInterval, growthTracker);
    }

    static void check(double scale, double growthFactor, double backoffFactor, int growthInterval,
                      int growthTracker) {
        if (!(scale > 0) || !Double.isFinite(scale) || !Float.isFinite((float) scale)) {
            throw new IllegalArgumentException("the scale must be finite and positive in float32, got " + scale);
        }
        if (!(growthFactor > 1) || !Double.isFinite(growthFactor)) {
            throw new IllegalArgumentException("the growth factor must be > 1.0, got " + growthFactor);
        }
        if (!(backoffFactor > 0 && backoffFactor < 1)) {
            throw new IllegalArgumentException("the backoff factor must be in (0, 1), got " + backoffFactor);
        }
        if (growthInterval <= 0) {
            throw new IllegalArgumentException("the growth interval must be positive, got " + growthInterval);
        }
        if (growthTracker < 0 || growthTracker >= growthInterval) {
            throw new IllegalArgumentException("the growth tracker must be in [0, " + growthInterval + "), got "
                    + growthTracker);
        }
    }

    /** The settings, for messages. */
    String settings() {
        return "growthFactor " + growthFactor + ", backoffFactor " + backoffFactor + ", growthInterval "
                + growthInterval;
    }
}
