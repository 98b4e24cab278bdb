package io.github.optlist.search;

/**
 * Thrown by {@link TrialContext#reportLoss} to stop a trial the pruner judged hopeless; the search records it as
 * PRUNED, with its last intermediate value as the objective.
 */
public final class TrialPrunedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final long step;
    private final double lastValue;

    /** A trial pruned at {@code step} with intermediate value {@code lastValue} there, for {@code reason}. */
    public TrialPrunedException(long step, double lastValue, String reason) {
        super(reason, null, false, false);
        this.step = step;
        this.lastValue = lastValue;
    }

    /** The step the trial was pruned at. */
    public long step() {
        return step;
    }

    /** The trial's intermediate value at that step. */
    public double lastValue() {
        return lastValue;
    }
}
