package io.github.optlist;

import java.util.Objects;

/**
 * One NAdamW configuration: the ten hyperparameters of a list entry, its name, and whether the step size
 * is bias-corrected.
 *
 * <p>The update and the schedule these values drive are documented on
 * {@link CosineSchedule#learningRate} and in the project README. Every entry of the list has
 * {@code useBiasCorrection == true}; custom configurations may turn it off.
 *
 * <p>The constructor refuses, with an {@link IllegalArgumentException} naming the value, a null name,
 * a learning rate that is negative or not finite, {@code beta1} or {@code beta2} outside {@code [0, 1)},
 * an epsilon or a weight decay that is negative or not finite, and a fraction or multiplier outside
 * {@code [0, 1]}.
 *
 * @param name                identifies the configuration, e.g. {@code nadamw_grid_seed251}
 * @param learningRate        peak learning rate, {@code >= 0}
 * @param beta1               first-moment decay, in {@code [0, 1)}
 * @param beta2               second-moment decay, in {@code [0, 1)}
 * @param epsilon             "epsilon hat", added to {@code sqrt(v)}, {@code >= 0}
 * @param useNesterov         Nesterov-style numerator {@code beta1 * m + (1 - beta1) * g} instead of {@code m}
 * @param adamwWeightDecay    decoupled decay, scaled by the bias-corrected step size, {@code >= 0}
 * @param l2WeightDecay       L2 term folded into the gradient as {@code g = grad - l2WeightDecay * p}, {@code >= 0}
 * @param warmupFraction      fraction of training in linear warm-up, in {@code [0, 1]}
 * @param minLearningRateMult final learning rate as a multiple of the peak, in {@code [0, 1]}
 * @param constantFraction    fraction of training before the cosine decay starts, in {@code [0, 1]}
 * @param useBiasCorrection   scale the step size by {@code sqrt(1 - beta2^t) / (1 - beta1^t)}
 */
public record NAdamWConfig(
        String name,
        double learningRate,
        double beta1,
        double beta2,
        double epsilon,
        boolean useNesterov,
        double adamwWeightDecay,
        double l2WeightDecay,
        double warmupFraction,
        double minLearningRateMult,
        double constantFraction,
        boolean useBiasCorrection) {

    /** Validates every field; see the class description for what is refused. */
    public NAdamWConfig {
        Objects.requireNonNull(name, "name must not be null");
        requireNonNegative("learningRate", learningRate);
        requireBeta("beta1", beta1);
        requireBeta("beta2", beta2);
        requireNonNegative("epsilon", epsilon);
        requireNonNegative("adamwWeightDecay", adamwWeightDecay);
        requireNonNegative("l2WeightDecay", l2WeightDecay);
        requireUnitInterval("warmupFraction", warmupFraction);
        requireUnitInterval("minLearningRateMult", minLearningRateMult);
        requireUnitInterval("constantFraction", constantFraction);
    }

    /** A copy of this configuration under another name. */
    public NAdamWConfig withName(String newName) {
        return new NAdamWConfig(newName, learningRate, beta1, beta2, epsilon, useNesterov, adamwWeightDecay,
                l2WeightDecay, warmupFraction, minLearningRateMult, constantFraction, useBiasCorrection);
    }

    /** A copy of this configuration with another peak learning rate (its name is kept). */
    public NAdamWConfig withLearningRate(double newLearningRate) {
        return new NAdamWConfig(name, newLearningRate, beta1, beta2, epsilon, useNesterov, adamwWeightDecay,
                l2WeightDecay, warmupFraction, minLearningRateMult, constantFraction, useBiasCorrection);
    }

    /** A copy of this configuration with the Nesterov numerator on or off (its name is kept). */
    public NAdamWConfig withNesterov(boolean nesterov) {
        return new NAdamWConfig(name, learningRate, beta1, beta2, epsilon, nesterov, adamwWeightDecay,
                l2WeightDecay, warmupFraction, minLearningRateMult, constantFraction, useBiasCorrection);
    }

    /** A copy of this configuration without either weight decay, e.g. for biases and norm layers. */
    public NAdamWConfig withoutWeightDecay() {
        return new NAdamWConfig(name, learningRate, beta1, beta2, epsilon, useNesterov, 0.0,
                0.0, warmupFraction, minLearningRateMult, constantFraction, useBiasCorrection);
    }

    private static void requireNonNegative(String field, double value) {
        if (!(value >= 0.0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(field + " must be finite and >= 0, got " + value);
        }
    }

    private static void requireBeta(String field, double value) {
        if (!(value >= 0.0 && value < 1.0)) {
            throw new IllegalArgumentException(field + " must be in [0, 1), got " + value);
        }
    }

    private static void requireUnitInterval(String field, double value) {
        if (!(value >= 0.0 && value <= 1.0)) {
            throw new IllegalArgumentException(field + " must be in [0, 1], got " + value);
        }
    }
}
