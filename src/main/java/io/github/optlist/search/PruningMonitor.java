package io.github.optlist.search;

import java.util.Arrays;

import java.util.List;
import java.util.function.Supplier;

/**
 * Watches one trial's reported losses for the pruner: turns each into the windowed intermediate value and asks
 * {@link MedianPruner} whether to stop. The same code serves a running search ({@link TrialContext#reportLoss}) and
 * the replay of recorded curves ({@code reproduce}), so both prune alike.
 *
 * <p>The pruner compares training losses, lower being better, whatever the direction of the search's objective.
 */
public final class PruningMonitor {

    private final PrunerSettings settings;
    private final long trainingSteps;
    private final Supplier<List<Values>> completed;
    private final LossWindow window;

    /**
     * A monitor of a trial of {@code trainingSteps} steps, which asks {@code completed} for the values of the
     * COMPLETE trials at each check.
     *
     * @throws IllegalArgumentException if an argument is null or {@code trainingSteps <= 0}
     */
    public PruningMonitor(PrunerSettings settings, long trainingSteps, Supplier<List<Values>> completed) {
        if (settings == null || completed == null) {
            throw new IllegalArgumentException("settings and completed must not be null");
        }
        if (trainingSteps <= 0) {
            throw new IllegalArgumentException("trainingSteps must be > 0, got " + trainingSteps);
        }
        this.settings = settings;
        this.trainingSteps = trainingSteps;
        this.completed = completed;
        this.window = new LossWindow(settings.windowStepsFor(trainingSteps));
    }

    /**
     * Records the loss of {@code step} and decides whether the trial stops there. A step that gets no intermediate
     * value ({@link LossWindow}) is never a check.
     *
     * @throws TrialContext.PrunedException if the pruner stops the trial at this step, with the windowed value and why
     */
    public void report(long step, double loss) {
        if (!window.accepts(step)) {
            return;
        }
        double value = window.add(step, loss);
        if (!settings.enabled()) {
            return;
        }
        Values mine = window.values();
        List<Values> done = completed.get();
        if (MedianPruner.shouldPrune(settings, trainingSteps, Direction.MINIMIZE, mine, done)) {
            double median = MedianPruner.medianAt(done, step, settings.minTrials());
            throw new TrialContext.PrunedException(step, value, "pruned at step " + step + ": best windowed loss "
                    + mine.best(Direction.MINIMIZE) + " above the median " + median + " of " + done.size()
                    + " completed trial(s) there");
        }
    }

    /** The trial's intermediate values so far (windowed means), step by step. */
    public Values values() {
        return window.values();
    }

    /**
     * What a trial that completes leaves for the pruners of later trials, and what the study records of it: its
     * windowed means thinned evenly to at most {@link TrialResult#MAX_CURVE_POINTS} steps, at the steps of its
     * recorded loss curve. Later trials are thus compared at those steps only, against every completed trial alike,
     * whichever worker ran it.
     */
    public Values recordedValues() {
        return window.values().thinned();
    }

    /**
     * One trial's intermediate values, step by step, as Optuna keeps them ({@code trial.intermediate_values}): here the
     * windowed mean of its reported loss ({@link LossWindow}) at each step it reported, steps strictly increasing and
     * {@code >= 0}. Values may be NaN or infinite. Immutable.
     */
    public static final class Values {

        /** No values. */
        public static final Values EMPTY = new Values(new long[0], new double[0], 0);

        private final long[] steps;
        private final double[] values;
        private final int size;

        /** A view of the first {@code size} entries of arrays whose first {@code size} entries never change. */
        Values(long[] steps, double[] values, int size) {
            this.steps = steps;
            this.values = values;
            this.size = size;
        }

        /**
         * The values {@code values[i]} at steps {@code steps[i]}, copied.
         *
         * @throws IllegalArgumentException if an array is null, their lengths differ, a step is negative or the
         *                                  steps are not strictly increasing
         */
        public static Values of(long[] steps, double[] values) {
            if (steps == null || values == null) {
                throw new IllegalArgumentException("steps and values must not be null");
            }
            if (steps.length != values.length) {
                throw new IllegalArgumentException("steps and values must have the same length, got " + steps.length
                        + " and " + values.length);
            }
            for (int i = 0; i < steps.length; i++) {
                if (steps[i] < 0 || i > 0 && steps[i] <= steps[i - 1]) {
                    throw new IllegalArgumentException("steps must be >= 0 and strictly increasing, got " + steps[i]
                            + " at position " + i + (i > 0 ? " after " + steps[i - 1] : ""));
                }
            }
            return new Values(steps.clone(), values.clone(), steps.length);
        }

        /** These values thinned evenly to at most {@link TrialResult#MAX_CURVE_POINTS} entries, the last kept. */
        Values thinned() {
            if (size <= TrialResult.MAX_CURVE_POINTS) {
                return this;
            }
            long[] keptSteps = new long[TrialResult.MAX_CURVE_POINTS];
            double[] keptValues = new double[TrialResult.MAX_CURVE_POINTS];
            for (int i = 0; i < keptSteps.length; i++) {
                int from = TrialResult.thinnedIndex(i, size);
                keptSteps[i] = steps[from];
                keptValues[i] = values[from];
            }
            return new Values(keptSteps, keptValues, keptSteps.length);
        }

        /** The number of steps with a value. */
        public int size() {
            return size;
        }

        /** The step of entry {@code i}, {@code 0 <= i < size()}. */
        public long step(int i) {
            return steps[checked(i)];
        }

        /** The value of entry {@code i}, {@code 0 <= i < size()}. */
        public double value(int i) {
            return values[checked(i)];
        }

        /** The entry of {@code step}, or -1 when this trial has no value at that step. */
        public int indexOf(long step) {
            int i = Arrays.binarySearch(steps, 0, size, step);
            return i >= 0 ? i : -1;
        }

        /** The last step with a value, or -1 when there is none. */
        public long lastStep() {
            return size == 0 ? -1 : steps[size - 1];
        }

        /** The value at the last step, or NaN when there is none. */
        public double lastValue() {
            return size == 0 ? Double.NaN : values[size - 1];
        }

        /**
         * The best value over all steps, NaN ignored ({@code numpy.nanmin}, or {@code nanmax} when maximizing);
         * NaN when there is no value or every value is NaN.
         */
        public double best(Direction direction) {
            double best = Double.NaN;
            for (int i = 0; i < size; i++) {
                double v = values[i];
                if (!Double.isNaN(v) && (Double.isNaN(best) || direction.isBetter(v, best))) {
                    best = v;
                }
            }
            return best;
        }

        private int checked(int i) {
            if (i < 0 || i >= size) {
                throw new IndexOutOfBoundsException("entry " + i + " of " + size);
            }
            return i;
        }
    }
}
