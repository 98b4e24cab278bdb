package io.github.optlist.search;

import io.github.optlist.internal.SettingException;

/**
 * When a trial is stopped early as diverged, so the budget is not burned on it: as soon as a reported training
 * loss is NaN or infinite, or, after {@code graceSteps} reports, exceeds {@code factor} times the first reported
 * loss (when that is positive).
 *
 * @param factor     how far above its start a loss may climb, {@code > 1}; infinity disables this part
 * @param graceSteps number of reports exempt from the factor test, e.g. for a warm-up that starts noisy
 */
public record DivergenceRule(double factor, long graceSteps) {

    /** A loss ten times its start, from the first report on. */
    public static final DivergenceRule DEFAULT = new DivergenceRule(10.0, 0);

    /** Stops only on NaN or infinite losses. */
    public static final DivergenceRule NON_FINITE_ONLY = new DivergenceRule(Double.POSITIVE_INFINITY, 0);

    /** Refuses a factor that is not above 1 and a negative grace. */
    public DivergenceRule {
        if (!(factor > 1)) {
            throw new SettingException("factor", "must be > 1, got " + factor);
        }
        if (graceSteps < 0) {
            throw new SettingException("graceSteps", "must be >= 0, got " + graceSteps);
        }
    }

    /**
     * Why the loss of report number {@code reportIndex} (0-based) shows divergence, or null when it does not.
     */
    public String divergence(double firstLoss, double loss, long reportIndex) {
        if (!Double.isFinite(loss)) {
            return "loss became " + loss;
        }
        if (reportIndex >= graceSteps && firstLoss > 0 && loss > factor * firstLoss) {
            return "loss " + loss + " exceeded " + factor + " x its start " + firstLoss;
        }
        return null;
    }
}
