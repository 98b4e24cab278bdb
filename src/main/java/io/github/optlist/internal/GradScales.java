package io.github.optlist.internal;

/** The check every optimizer makes of a gradient scale before a scaled step. Not API. */
public final class GradScales {

    private GradScales() {
    }

    /**
     * {@code gradScale} rounded to float32, the precision the fused kernels read it in (and torch keeps its scale
     * in), so that every update path divides by the same number.
     *
     * @throws IllegalArgumentException if it is not positive and finite in float32
     */
    public static double require(double gradScale) {
        float rounded = (float) gradScale;
        if (!(rounded > 0) || !Float.isFinite(rounded)) {
            throw new IllegalArgumentException("gradScale must be positive and finite in float32, got " + gradScale);
        }
        return rounded;
    }
}
