package io.github.optlist.search;

import io.github.optlist.internal.SettingException;

/**
 * Whether and how a search stops hopeless trials early: {@link #none()} (the default) or Optuna's median stopping
 * rule, {@link #median()}, as {@link MedianPruner} applies it.
 *
 * <p>The median rule compares a trial's best intermediate value so far with the median of the completed trials'
 * intermediate values at the same step. An intermediate value here is not a single reported loss but the mean of
 * the losses reported over the last {@code windowSteps} steps ({@link LossWindow}): a minibatch loss is noisy, and
 * one unlucky batch should not end a trial. The default window is 5 % of the training length: the noise of the
 * mean falls as one over the square root of the window (a factor 3.5 at 250 steps, 10 at 2000), while the mean
 * lags the curve by about half the window, 2.5 % of training, well inside the 10 % warm-up, so the first pruning
 * check (at the end of the warm-up) already averages losses past the steepest initial fall. Every trial of a
 * search has the same training length and its values are windowed alike, so values at equal steps are comparable.
 *
 * @param kind          {@link Kind#NONE} or {@link Kind#MEDIAN}
 * @param startupTrials no pruning until this many trials completed, {@code >= 0} (Optuna's
 *                      {@code n_startup_trials}, default 5)
 * @param warmupSteps   no pruning of a trial before this step, {@code >= 0}, or {@link #AUTO} for 10 % of the
 *                      training steps (Optuna's {@code n_warmup_steps})
 * @param intervalSteps steps between pruning checks, offset by the warm-up, {@code >= 1} (Optuna's
 *                      {@code interval_steps}, default 1)
 * @param minTrials     no pruning at a step where fewer completed trials reported a value, {@code >= 1} (Optuna's
 *                      {@code n_min_trials}, default 1)
 * @param windowSteps   steps the intermediate value averages the reported loss over, {@code >= 1}, or {@link #AUTO}
 *                      for 5 % of the training steps (at least 1)
 */
public record PrunerSettings(Kind kind, int startupTrials, long warmupSteps, long intervalSteps, int minTrials,
                             long windowSteps) {

    /** Stands for a length derived from the training length: see {@link #warmupSteps} and {@link #windowSteps}. */
    public static final long AUTO = -1;

    /** Which pruner. */
    public enum Kind {
        /** Every trial trains to the end. */
        NONE,
        /** Optuna's {@code MedianPruner}. */
        MEDIAN
    }

    /**
     * Validates every field; a refused field throws a {@link SettingException} naming it and the value.
     */
    public PrunerSettings {
        if (kind == null) {
            throw new IllegalArgumentException("kind must not be null");
        }
        if (startupTrials < 0) {
            throw new SettingException("startupTrials", "must be >= 0, got " + startupTrials);
        }
        if (warmupSteps < 0 && warmupSteps != AUTO) {
            throw new SettingException("warmupSteps", "must be >= 0 (or AUTO, -1: 10 % of the training steps),"
                    + " got " + warmupSteps);
        }
        if (intervalSteps < 1) {
            throw new SettingException("intervalSteps", "must be >= 1, got " + intervalSteps);
        }
        if (minTrials < 1) {
            throw new SettingException("minTrials", "must be >= 1, got " + minTrials);
        }
        if (windowSteps < 1 && windowSteps != AUTO) {
            throw new SettingException("windowSteps", "must be >= 1 (or AUTO, -1: 5 % of the training steps),"
                    + " got " + windowSteps);
        }
    }

    /** No pruning: every trial trains to the end. */
    public static PrunerSettings none() {
        return new PrunerSettings(Kind.NONE, 5, AUTO, 1, 1, AUTO);
    }

    /**
     * The median rule with Optuna's defaults where it has them and this project's for the rest: 5 startup trials,
     * warm-up 10 % of the training steps, interval 1, at least 1 completed trial at the step, window 5 %.
     */
    public static PrunerSettings median() {
        return new PrunerSettings(Kind.MEDIAN, 5, AUTO, 1, 1, AUTO);
    }

    /**
     * The median rule with these settings ({@link #AUTO} for a length derived from the training length).
     *
     * @throws SettingException as the record's constructor
     */
    public static PrunerSettings median(int startupTrials, long warmupSteps, long intervalSteps, int minTrials,
                                        long windowSteps) {
        return new PrunerSettings(Kind.MEDIAN, startupTrials, warmupSteps, intervalSteps, minTrials, windowSteps);
    }

    /** Whether these settings prune at all. */
    public boolean enabled() {
        return kind != Kind.NONE;
    }

    /** The warm-up for a training length of {@code trainingSteps}: as set, or 10 % of it (rounded down). */
    public long warmupStepsFor(long trainingSteps) {
        return warmupSteps == AUTO ? trainingSteps / 10 : warmupSteps;
    }

    /** The window for a training length of {@code trainingSteps}: as set, or 5 % of it (rounded down), at least 1. */
    public long windowStepsFor(long trainingSteps) {
        return windowSteps == AUTO ? Math.max(1, trainingSteps / 20) : windowSteps;
    }
}
