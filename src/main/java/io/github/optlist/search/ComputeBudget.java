package io.github.optlist.search;

import io.github.optlist.internal.SettingException;

/**
 * A compute budget in full trials: the search goes down the list and starts a trial only while the steps spent are
 * below {@code fullTrials} times the training length. A trial that ran to the end costs the training length; one
 * pruned, diverged or failed costs the steps up to its last report ({@code last step + 1}), so pruning lets the same
 * budget reach further down the list. Trials already running when the budget is spent finish, so a search may
 * spend up to one trial per worker more.
 *
 * @param fullTrials the budget in full trials, {@code >= 0}; 0 means no budget (every candidate runs)
 */
public record ComputeBudget(int fullTrials) {

    /** No budget: every candidate runs. */
    public static final ComputeBudget NONE = new ComputeBudget(0);

    /** Refuses a negative budget. */
    public ComputeBudget {
        if (fullTrials < 0) {
            throw new SettingException("budget", "must be >= 0 full trials (0: none), got " + fullTrials);
        }
    }

    /** Whether there is a budget at all. */
    public boolean limited() {
        return fullTrials > 0;
    }

    /** The budget in steps for trials of {@code trainingSteps} steps; {@link Long#MAX_VALUE} without a budget. */
    public long steps(long trainingSteps) {
        return limited() ? Math.multiplyExact((long) fullTrials, trainingSteps) : Long.MAX_VALUE;
    }

    /** Whether a new trial may start after {@code spentSteps} steps of trials of {@code trainingSteps} steps. */
    public boolean mayStart(long spentSteps, long trainingSteps) {
        return spentSteps < steps(trainingSteps);
    }

    /**
     * What a trial cost in steps: the training length when it ran to the end ({@link TrialStatus#OK}); otherwise
     * {@code lastReportedStep + 1}, at most the training length (0 without any report).
     *
     * @throws IllegalArgumentException if {@code status} is null or {@code trainingSteps <= 0}
     */
    public static long cost(TrialStatus status, long lastReportedStep, long trainingSteps) {
        if (status == null || trainingSteps <= 0) {
            throw new IllegalArgumentException("status must not be null and trainingSteps > 0, got " + status
                    + " and " + trainingSteps);
        }
        if (status == TrialStatus.OK) {
            return trainingSteps;
        }
        return Math.max(0, Math.min(trainingSteps, lastReportedStep + 1));
    }
}
