package io.github.optlist.search;

/** How a trial ended. */
public enum TrialStatus {
    /** Trained to the end with a finite objective. */
    OK,
    /** Threw, or returned a NaN or infinite objective; the reason says which. */
    FAILED,
    /** Stopped early by the {@link DivergenceRule}. */
    DIVERGED,
    /**
     * Stopped early by the pruner ({@link PrunerSettings}): its training loss trailed the completed trials'; its
     * objective is its last intermediate value (a windowed training loss, not the trial's objective).
     */
    PRUNED
}
