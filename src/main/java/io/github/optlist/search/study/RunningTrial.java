package io.github.optlist.search.study;

/**
 * A trial this worker popped and runs: it beats, reports and finishes it through {@link OptunaStudy}.
 *
 * @param trialId the database's id of the trial ({@code trials.trial_id})
 * @param number  the trial's number within its study, as Optuna shows it
 * @param index   the list index it runs (its {@code idx} parameter), or -1 when it runs a candidate by label
 * @param label   the label of the candidate it runs ({@code fixed_params}' {@code candidate}), or null when it runs
 *                a list index
 */
public record RunningTrial(int trialId, int number, int index, String label) {
}
