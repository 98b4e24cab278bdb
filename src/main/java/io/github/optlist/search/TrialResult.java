package io.github.optlist.search;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;

import java.util.List;

/**
 * The outcome of one trial: one {@link Candidate} trained once, with the configuration that really ran.
 *
 * @param label     the candidate's label, unique within a search (e.g. {@code taskset-3})
 * @param index     the list index, or {@link Candidate#CUSTOM} for a custom configuration
 * @param name      the configuration's name (the list entry's name for a list index)
 * @param variant   the list variant the trial ran under
 * @param config    the configuration the optimizer ran: the entry after {@link ListVariant#apply}, or the custom one
 * @param status    how the trial ended
 * @param objective the trial's objective; for {@link TrialStatus#PRUNED} its last intermediate value (a windowed
 *                  training loss); NaN otherwise unless {@code status} is {@link TrialStatus#OK}
 * @param reason    why the trial failed or diverged; empty when OK
 * @param seconds   wall-clock time of the trial
 * @param curve     the reported training losses, thinned to at most {@value #MAX_CURVE_POINTS} points
 */
public record TrialResult(String label, int index, String name, ListVariant variant, NAdamWConfig config,
                          TrialStatus status, double objective, String reason, double seconds,
                          List<LossPoint> curve) {

    /** The most points of a loss curve kept in results. */
    public static final int MAX_CURVE_POINTS = 200;

    /**
     * Which of {@code n} points is the {@code i}-th of a series thinned evenly to {@link #MAX_CURVE_POINTS} (the first
     * and last kept), for {@code n > MAX_CURVE_POINTS}: the loss curve and the pruner's recorded values alike.
     */
    static int thinnedIndex(int i, int n) {
        return (int) ((long) i * (n - 1) / (MAX_CURVE_POINTS - 1));
    }

    /** Refuses nulls, and an OK result without a finite objective. */
    public TrialResult {
        if (label == null || name == null || variant == null || config == null || status == null || reason == null
                || curve == null) {
            throw new IllegalArgumentException("label, name, variant, config, status, reason and curve must not be"
                    + " null");
        }
        if (status == TrialStatus.OK && !Double.isFinite(objective)) {
            throw new IllegalArgumentException("an OK trial needs a finite objective, got " + objective);
        }
        curve = List.copyOf(curve);
    }

    /** Whether the trial ended with a usable objective. */
    public boolean ok() {
        return status == TrialStatus.OK;
    }

    /** The last reported training loss, or NaN without any. */
    public double finalLoss() {
        return curve.isEmpty() ? Double.NaN : curve.get(curve.size() - 1).loss();
    }

    /**
     * A {@link TrialResult} as one flat table row: the trial, then every field of the configuration that ran, without
     * the loss curve. The rows of {@code results.csv}.
     *
     * @param label               the candidate's label
     * @param index               the list index, or {@link Candidate#CUSTOM}
     * @param name                the configuration's name
     * @param variant             the list variant the trial ran under
     * @param status              how the trial ended
     * @param objective           the objective, NaN unless OK
     * @param finalLoss           the last reported training loss
     * @param seconds             wall-clock time, to the millisecond
     * @param learningRate        the configuration that ran, field by field (see {@link NAdamWConfig})
     * @param beta1               see {@link NAdamWConfig#beta1()}
     * @param beta2               see {@link NAdamWConfig#beta2()}
     * @param epsilon             see {@link NAdamWConfig#epsilon()} ("epsilon hat")
     * @param useNesterov         see {@link NAdamWConfig#useNesterov()}, after the variant
     * @param adamwWeightDecay    see {@link NAdamWConfig#adamwWeightDecay()}
     * @param l2WeightDecay       see {@link NAdamWConfig#l2WeightDecay()}
     * @param warmupFraction      see {@link NAdamWConfig#warmupFraction()}
     * @param minLearningRateMult see {@link NAdamWConfig#minLearningRateMult()}
     * @param constantFraction    see {@link NAdamWConfig#constantFraction()}
     * @param useBiasCorrection   see {@link NAdamWConfig#useBiasCorrection()}
     * @param reason              why the trial failed or diverged; empty when OK
     */
    @JsonPropertyOrder({"label", "index", "name", "variant", "status", "objective", "finalLoss", "seconds",
            "learningRate", "beta1", "beta2", "epsilon", "useNesterov", "adamwWeightDecay", "l2WeightDecay",
            "warmupFraction", "minLearningRateMult", "constantFraction", "useBiasCorrection", "reason"})
    public record Row(String label, int index, String name, ListVariant variant, TrialStatus status,
                           double objective, double finalLoss, double seconds, double learningRate, double beta1,
                           double beta2, double epsilon, boolean useNesterov, double adamwWeightDecay,
                           double l2WeightDecay, double warmupFraction, double minLearningRateMult,
                           double constantFraction, boolean useBiasCorrection, String reason) {

        /** The row of {@code r}. */
        public static Row of(TrialResult r) {
            NAdamWConfig c = r.config();
            return new Row(r.label(), r.index(), r.name(), r.variant(), r.status(), r.objective(), r.finalLoss(),
                    Math.round(r.seconds() * 1000) / 1000.0, c.learningRate(), c.beta1(), c.beta2(), c.epsilon(),
                    c.useNesterov(), c.adamwWeightDecay(), c.l2WeightDecay(), c.warmupFraction(),
                    c.minLearningRateMult(), c.constantFraction(), c.useBiasCorrection(), r.reason());
        }
    }

    /**
     * One point of a trial's loss curve.
     *
     * @param step the training step (0-based)
     * @param loss the training loss reported at that step
     */
    public record LossPoint(long step, double loss) {
    }
}
