package io.github.optlist.search;

/**
 * A trial's reported losses and their windowed means: the intermediate value at a step is the mean of the losses
 * reported at steps {@code step - window + 1 .. step} (see {@link PrunerSettings} for the window's length and why).
 * A window holding a NaN or infinite loss has a NaN or infinite mean. A step that is negative, or not after the last
 * one recorded, gets no intermediate value (as Optuna ignores a second report of a step): its loss stays in the
 * trial's curve only.
 */
final class LossWindow {

    private final long window;
    private long[] steps = new long[64];
    private double[] losses = new double[64];
    private double[] means = new double[64];
    private int size;

    /**
     * An empty window of {@code window} steps.
     *
     * @throws IllegalArgumentException if {@code window < 1}
     */
    public LossWindow(long window) {
        if (window < 1) {
            throw new IllegalArgumentException("window must be >= 1 step, got " + window);
        }
        this.window = window;
    }

    /**
     * Records the loss of {@code step} and returns the windowed mean there, or NaN without recording anything when
     * the step is negative or not after the last recorded one (check {@link #accepts} first to tell the two apart).
     */
    public double add(long step, double loss) {
        if (!accepts(step)) {
            return Double.NaN;
        }
        if (size == steps.length) {
            // New arrays, so that views handed out over the old ones never change.
            steps = java.util.Arrays.copyOf(steps, size * 2);
            losses = java.util.Arrays.copyOf(losses, size * 2);
            means = java.util.Arrays.copyOf(means, size * 2);
        }
        steps[size] = step;
        losses[size] = loss;
        double sum = 0;
        int count = 0;
        // Summed afresh rather than as a running sum: an infinite loss leaving the window would leave NaN behind.
        for (int i = size; i >= 0 && steps[i] > step - window; i--) {
            sum += losses[i];
            count++;
        }
        means[size] = sum / count;
        return means[size++];
    }

    /** Whether {@link #add} would record {@code step}: it is {@code >= 0} and after the last recorded step. */
    public boolean accepts(long step) {
        return step >= 0 && (size == 0 || step > steps[size - 1]);
    }

    /** The windowed means recorded so far, step by step; later additions do not change the returned values. */
    public PruningMonitor.Values values() {
        return new PruningMonitor.Values(steps, means, size);
    }
}
