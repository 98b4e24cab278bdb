package io.github.optlist;

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
 * <p>A custom configuration reads best built by name, from the defaults of the published PyTorch
 * {@code NadamWCosineDecay} (see {@link #builder(String)}):
 * <pre>{@code
 * NAdamWConfig custom = NAdamWConfig.builder("my-nadamw")
 *         .learningRate(3e-4).betas(0.9, 0.99).nesterov(true)
 *         .adamwWeightDecay(1e-4).warmupFraction(0.05).constantFraction(0.2).minLearningRateMult(0.01)
 *         .build();
 * NAdamWConfig tweaked = OptList.config(3).toBuilder().learningRate(1e-3).build();   // a list entry, changed
 * NAdamWConfig adam = NAdamWConfig.adam(1e-3);                                       // constant-rate Adam
 * }</pre>
 * A changed configuration is derived one way, through {@link #toBuilder()}: {@code config.toBuilder()
 * .adamwWeightDecay(0).l2WeightDecay(0).build()} is {@code config} without weight decay. The canonical
 * constructor, with its twelve components in order, is for readers of stored configurations (the list file).
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

    /**
     * Validates every field; see the class description for what is refused.
     *
     * @throws IllegalArgumentException if a value is null or out of range, with a message naming it
     */
    public NAdamWConfig {
        if (name == null) {
            throw new IllegalArgumentException("name must not be null");
        }
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

    /**
     * A builder for a configuration named {@code name}, starting from the defaults of the published PyTorch
     * {@code NadamWCosineDecay} constructor: learning rate {@code 1e-3}, betas {@code 0.9} and {@code 0.999},
     * epsilon {@code 1e-8}, no Nesterov, no weight decay of either kind, no warm-up, constant fraction
     * {@code 1} (so no decay: the minimum multiplier {@code 1} then plays no part), bias correction on. With
     * these defaults the configuration is Adam at a constant learning rate, as {@link #adam(double)} gives.
     *
     * @param name identifies the configuration, e.g. in checkpoints and search results
     * @return a builder holding the defaults above
     * @throws IllegalArgumentException if {@code name} is null
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * A builder holding every value of this configuration, to change some by name, e.g.
     * {@code OptList.config(3).toBuilder().learningRate(1e-3).build()}.
     *
     * @return a builder whose {@link Builder#build()} equals this configuration until a value is changed
     */
    public Builder toBuilder() {
        return new Builder(name).learningRate(learningRate).betas(beta1, beta2).epsilon(epsilon)
                .nesterov(useNesterov).adamwWeightDecay(adamwWeightDecay).l2WeightDecay(l2WeightDecay)
                .warmupFraction(warmupFraction).minLearningRateMult(minLearningRateMult)
                .constantFraction(constantFraction).biasCorrection(useBiasCorrection);
    }

    /**
     * Adam as {@code torch.optim.Adam(lr=learningRate)} configures it, named {@code adam}: betas {@code 0.9}
     * and {@code 0.999}, epsilon {@code 1e-8}, no Nesterov, no weight decay, no warm-up, a constant learning
     * rate (constant fraction {@code 1}), bias correction on. A baseline beside the list's entries.
     *
     * <p>One difference from torch remains, by design of this optimizer: epsilon is "epsilon hat", added to
     * {@code sqrt(v)} after the bias correction has been folded into the step size, whereas torch's Adam adds
     * it to the bias-corrected {@code sqrt(v / (1 - beta2^t))}. The two agree whenever {@code sqrt(v)} is large
     * against epsilon; early in training and for tiny gradients this one's epsilon weighs
     * {@code 1 / sqrt(1 - beta2^t)} times more (about 32 times at the first step).
     *
     * @param learningRate the constant learning rate, {@code >= 0}
     * @return the configuration
     * @throws IllegalArgumentException if {@code learningRate} is negative or not finite
     */
    public static NAdamWConfig adam(double learningRate) {
        return builder("adam").learningRate(learningRate).build();
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

    /**
     * Builds an {@link NAdamWConfig} by name. Starts from the defaults listed on {@link #builder(String)} (or from
     * a configuration's values, {@link #toBuilder()}); each setter replaces one value and returns this builder.
     * Values are checked by {@link #build()}, with the same messages as the constructor. Not thread-safe; reuse
     * is allowed (each {@code build()} returns a new, immutable configuration).
     */
    public static final class Builder {

        private String name;
        private double learningRate = 1e-3;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double epsilon = 1e-8;
        private boolean useNesterov = false;
        private double adamwWeightDecay = 0.0;
        private double l2WeightDecay = 0.0;
        private double warmupFraction = 0.0;
        private double minLearningRateMult = 1.0;
        private double constantFraction = 1.0;
        private boolean useBiasCorrection = true;

        private Builder(String name) {
            name(name);
        }

        /**
         * Sets the name.
         *
         * @param name identifies the configuration
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null
         */
        public Builder name(String name) {
            if (name == null) {
                throw new IllegalArgumentException("name must not be null");
            }
            this.name = name;
            return this;
        }

        /**
         * Sets the peak learning rate (default {@code 1e-3}).
         *
         * @param learningRate peak learning rate, {@code >= 0}
         * @return this builder
         */
        public Builder learningRate(double learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        /**
         * Sets the first-moment decay (default {@code 0.9}).
         *
         * @param beta1 in {@code [0, 1)}
         * @return this builder
         */
        public Builder beta1(double beta1) {
            this.beta1 = beta1;
            return this;
        }

        /**
         * Sets the second-moment decay (default {@code 0.999}).
         *
         * @param beta2 in {@code [0, 1)}
         * @return this builder
         */
        public Builder beta2(double beta2) {
            this.beta2 = beta2;
            return this;
        }

        /**
         * Sets both moment decays, as torch's {@code betas=(beta1, beta2)} (defaults {@code 0.9}, {@code 0.999}).
         *
         * @param beta1 first-moment decay, in {@code [0, 1)}
         * @param beta2 second-moment decay, in {@code [0, 1)}
         * @return this builder
         */
        public Builder betas(double beta1, double beta2) {
            return beta1(beta1).beta2(beta2);
        }

        /**
         * Sets epsilon, "epsilon hat", added to {@code sqrt(v)} (default {@code 1e-8}).
         *
         * @param epsilon {@code >= 0}
         * @return this builder
         */
        public Builder epsilon(double epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        /**
         * Turns the Nesterov-style numerator on or off (default off).
         *
         * @param useNesterov whether to use {@code beta1 * m + (1 - beta1) * g} instead of {@code m}
         * @return this builder
         */
        public Builder nesterov(boolean useNesterov) {
            this.useNesterov = useNesterov;
            return this;
        }

        /**
         * Sets the decoupled weight decay, scaled by the bias-corrected step size (default {@code 0}).
         *
         * @param adamwWeightDecay {@code >= 0}
         * @return this builder
         */
        public Builder adamwWeightDecay(double adamwWeightDecay) {
            this.adamwWeightDecay = adamwWeightDecay;
            return this;
        }

        /**
         * Sets the L2 term, folded into the gradient as {@code g = grad - l2WeightDecay * p} (default {@code 0};
         * mind the published sign, see the README's Semantics).
         *
         * @param l2WeightDecay {@code >= 0}
         * @return this builder
         */
        public Builder l2WeightDecay(double l2WeightDecay) {
            this.l2WeightDecay = l2WeightDecay;
            return this;
        }

        /**
         * Sets the fraction of training in linear warm-up (default {@code 0}, no warm-up).
         *
         * @param warmupFraction in {@code [0, 1]}
         * @return this builder
         */
        public Builder warmupFraction(double warmupFraction) {
            this.warmupFraction = warmupFraction;
            return this;
        }

        /**
         * Sets the final learning rate as a multiple of the peak (default {@code 1}).
         *
         * @param minLearningRateMult in {@code [0, 1]}
         * @return this builder
         */
        public Builder minLearningRateMult(double minLearningRateMult) {
            this.minLearningRateMult = minLearningRateMult;
            return this;
        }

        /**
         * Sets the fraction of training before the cosine decay starts, warm-up included (default {@code 1}, no
         * decay).
         *
         * @param constantFraction in {@code [0, 1]}
         * @return this builder
         */
        public Builder constantFraction(double constantFraction) {
            this.constantFraction = constantFraction;
            return this;
        }

        /**
         * Turns bias correction of the step size on or off (default on, as in every list entry).
         *
         * @param useBiasCorrection whether to scale the step size by {@code sqrt(1 - beta2^t) / (1 - beta1^t)}
         * @return this builder
         */
        public Builder biasCorrection(boolean useBiasCorrection) {
            this.useBiasCorrection = useBiasCorrection;
            return this;
        }

        /**
         * Checks the values and builds the configuration.
         *
         * @return a new configuration with this builder's values
         * @throws IllegalArgumentException if a value is out of range, with a message naming it
         */
        public NAdamWConfig build() {
            return new NAdamWConfig(name, learningRate, beta1, beta2, epsilon, useNesterov, adamwWeightDecay,
                    l2WeightDecay, warmupFraction, minLearningRateMult, constantFraction, useBiasCorrection);
        }
    }
}
