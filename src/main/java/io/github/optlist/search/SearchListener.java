package io.github.optlist.search;

/**
 * Told what a search is doing, e.g. to show progress. Called from worker threads: implementations must be thread-safe.
 */
public interface SearchListener {

    /** A listener that ignores everything. */
    SearchListener NONE = new SearchListener() {
    };

    /** The search starts {@code pending} trials; {@code finished} were done by an earlier run and are kept. */
    default void searchStarted(int pending, int finished) {
    }

    /** The trial of the candidate labelled {@code label} (e.g. {@code taskset-3}) reported its training loss. */
    default void trialProgress(String label, long step, long trainingSteps, double loss) {
    }

    /** A trial ended and its result was written. */
    default void trialFinished(TrialResult result) {
    }

    /**
     * Task {@code position} (from 1) of {@code count} starts, with {@code steps} training steps per trial: called by
     * {@code Reproduce}, which runs a search per task (and then calls {@link #searchStarted} once, with the trials of
     * every task).
     */
    default void taskStarted(String task, int position, int count, long steps) {
    }
}
