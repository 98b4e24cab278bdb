package io.github.optlist.search.study;

/** A trial's state, as Optuna names it ({@code optuna.trial.TrialState}), in the order of its database enum. */
public enum TrialState {
    /** Popped by a worker, which beats while it trains. */
    RUNNING,
    /** Finished with a value. */
    COMPLETE,
    /** Stopped early by a pruner; its value is its last intermediate value. */
    PRUNED,
    /** Failed: diverged, threw, or its worker stopped beating. */
    FAIL,
    /** Enqueued, waiting for a worker to pop it. */
    WAITING
}
