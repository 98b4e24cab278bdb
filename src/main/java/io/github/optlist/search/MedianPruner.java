package io.github.optlist.search;

import java.util.Arrays;
import java.util.List;

/**
 * Optuna's median stopping rule ({@code optuna.pruners.MedianPruner}, a {@code PercentilePruner} at 50) as a pure
 * function of a trial's intermediate values, the completed trials' values and the {@link PrunerSettings}, so that
 * it can be fed from a search in memory or from a study database alike. Optuna's rule, in its order:
 * <ol>
 *   <li>no pruning while no trial, or fewer than {@code startupTrials} trials, completed (only COMPLETE trials
 *       count: not pruned, failed or diverged ones);</li>
 *   <li>no pruning before the trial's first value, nor while its last step is below the warm-up;</li>
 *   <li>only at the first step reported in each interval: the step {@code s} is checked when no earlier value of the
 *       trial lies at or after {@code warmup + floor((s - warmup) / interval) * interval};</li>
 *   <li>the trial's best value over all its steps so far, NaN ignored, is what is compared; when all are NaN the
 *       trial is pruned;</li>
 *   <li>the median is taken over the completed trials that have a value at exactly step {@code s}; fewer such
 *       trials than {@code minTrials} (NaN values counted) means no pruning; NaN values are left out of the median
 *       ({@code numpy.nanpercentile}, linear interpolation), and when all are NaN there is no pruning;</li>
 *   <li>the trial is pruned when its best is strictly worse than the median: above it when minimizing, below it
 *       when maximizing. A tie is not pruned.</li>
 * </ol>
 */
final class MedianPruner {

    private MedianPruner() {
    }

    /**
     * Whether to stop {@code trial} at its last step.
     *
     * @param settings      the pruner; {@link PrunerSettings#none()} never prunes
     * @param trainingSteps the training length, which {@link PrunerSettings#AUTO} warm-ups derive from, {@code > 0}
     * @param direction     whether lower or higher intermediate values are better
     * @param trial         the trial's values so far
     * @param completed     the values of every COMPLETE trial, in any order
     * @throws IllegalArgumentException if an argument is null or {@code trainingSteps <= 0}
     */
    public static boolean shouldPrune(PrunerSettings settings, long trainingSteps, Direction direction,
                                      PruningMonitor.Values trial, List<PruningMonitor.Values> completed) {
        if (settings == null || direction == null || trial == null || completed == null) {
            throw new IllegalArgumentException("settings, direction, trial and completed must not be null");
        }
        if (trainingSteps <= 0) {
            throw new IllegalArgumentException("trainingSteps must be > 0, got " + trainingSteps);
        }
        if (!settings.enabled() || completed.isEmpty() || completed.size() < settings.startupTrials()
                || trial.size() == 0) {
            return false;
        }
        long step = trial.lastStep();
        long warmup = settings.warmupStepsFor(trainingSteps);
        if (step < warmup || !firstInInterval(trial, warmup, settings.intervalSteps())) {
            return false;
        }
        double best = trial.best(direction);
        if (Double.isNaN(best)) {
            return true;
        }
        double median = medianAt(completed, step, settings.minTrials());
        if (Double.isNaN(median)) {
            return false;
        }
        return direction == Direction.MINIMIZE ? best > median : best < median;
    }

    /**
     * The median of the completed trials' values at exactly {@code step}, NaN values left out, with
     * {@code numpy.percentile}'s linear interpolation; NaN when fewer than {@code minTrials} trials have a value
     * there (NaN values counted), or when all of them are NaN. (The median is the same whichever the direction.)
     *
     * @throws IllegalArgumentException if {@code completed} is null
     */
    public static double medianAt(List<PruningMonitor.Values> completed, long step, int minTrials) {
        if (completed == null) {
            throw new IllegalArgumentException("completed must not be null");
        }
        double[] atStep = new double[completed.size()];
        int present = 0;
        int finite = 0;
        for (PruningMonitor.Values c : completed) {
            int i = c.indexOf(step);
            if (i >= 0) {
                present++;
                double v = c.value(i);
                if (!Double.isNaN(v)) {
                    atStep[finite++] = v;
                }
            }
        }
        if (present < minTrials || finite == 0) {
            return Double.NaN;
        }
        double[] sorted = Arrays.copyOf(atStep, finite);
        Arrays.sort(sorted);
        double h = (finite - 1) * 0.5;
        int lo = (int) Math.floor(h);
        int hi = (int) Math.ceil(h);
        return lerp(sorted[lo], sorted[hi], h - lo);
    }

    /** numpy's {@code _lerp}: exact at both ends, and from the nearer end at {@code t >= 0.5}. */
    private static double lerp(double a, double b, double t) {
        if (a == b) {
            return a;
        }
        double diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }

    /** Optuna's {@code _is_first_in_interval_step} for the trial's last step. */
    private static boolean firstInInterval(PruningMonitor.Values trial, long warmup, long interval) {
        long step = trial.lastStep();
        long nearestLowerCheck = (step - warmup) / interval * interval + warmup;
        long secondLast = trial.size() >= 2 ? trial.step(trial.size() - 2) : -1;
        return secondLast < nearestLowerCheck;
    }
}
