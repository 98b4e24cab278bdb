package io.github.optlist.torch;

/**
 * The state of a {@link GradScaler}, as torch's {@code scaler.state_dict()}: the scale, its settings and the number
 * of good steps since the scale last changed. Save it beside the optimizer's checkpoint and give it back to
 * {@link GradScaler#loadState} on resume.
 *
 * @param scale          the current scale (positive and finite in float32)
 * @param growthFactor   the factor the scale grows by (greater than 1)
 * @param backoffFactor  the factor the scale shrinks by (in (0, 1))
 * @param growthInterval the number of good steps in a row after which the scale grows (positive)
 * @param growthTracker  the good steps in a row so far, in {@code [0, growthInterval)}
 */
public record GradScalerState(double scale, double growthFactor, double backoffFactor, int growthInterval,
                              int growthTracker) {

    /**
     * Validates; see the parameters.
     *
     * @throws IllegalArgumentException if a value is out of its range, e.g. a scale that rounds to 0 or infinity
     *                                  in float32 ({@code 1e-46}, {@code 1e39}), naming it
     */
    public GradScalerState {
        check("scale", scale, growthFactor, backoffFactor, growthInterval, growthTracker);
    }

    /** Refuses settings out of range, naming the scale {@code scaleName} (the caller's argument). */
    static void check(String scaleName, double scale, double growthFactor, double backoffFactor, int growthInterval,
                      int growthTracker) {
        // Judged in float32, the precision the scale is kept in: 1e-50 is positive as a double but 0 as a float.
        float rounded = (float) scale;
        if (!(rounded > 0) || !Float.isFinite(rounded)) {
            throw new IllegalArgumentException(scaleName + " must be positive and finite in float32, got " + scale
                    + (Double.isFinite(scale) && scale > 0 ? " (" + rounded + " in float32)" : ""));
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
