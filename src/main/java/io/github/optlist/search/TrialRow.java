package io.github.optlist.search;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;

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
public record TrialRow(String label, int index, String name, ListVariant variant, TrialStatus status,
                       double objective, double finalLoss, double seconds, double learningRate, double beta1,
                       double beta2, double epsilon, boolean useNesterov, double adamwWeightDecay,
                       double l2WeightDecay, double warmupFraction, double minLearningRateMult,
                       double constantFraction, boolean useBiasCorrection, String reason) {

    /** The row of {@code r}. */
    public static TrialRow of(TrialResult r) {
        NAdamWConfig c = r.config();
        return new TrialRow(r.label(), r.index(), r.name(), r.variant(), r.status(), r.objective(), r.finalLoss(),
                Math.round(r.seconds() * 1000) / 1000.0, c.learningRate(), c.beta1(), c.beta2(), c.epsilon(),
                c.useNesterov(), c.adamwWeightDecay(), c.l2WeightDecay(), c.warmupFraction(),
                c.minLearningRateMult(), c.constantFraction(), c.useBiasCorrection(), r.reason());
    }
}
