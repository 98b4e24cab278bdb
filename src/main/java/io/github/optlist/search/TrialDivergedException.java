package io.github.optlist.search;

/** Thrown by {@link TrialContext#reportLoss} to stop a trial that diverged; the search records it as DIVERGED. */
public final class TrialDivergedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** A divergence with the rule's reason. */
    public TrialDivergedException(String reason) {
        super(reason, null, false, false);
    }
}
