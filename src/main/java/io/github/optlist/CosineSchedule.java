package io.github.optlist;

/**
 * The learning-rate schedule of the list: linear warm-up, constant, then cosine decay to
 * {@code minLearningRateMult * learningRate}. A pure function of the step, computed in double precision.
 *
 * <p>With {@code s = min(step, T)}, {@code c = T * constantFraction}, {@code lr0 = learningRate},
 * {@code lrMin = minLearningRateMult * lr0} and the warm-up length {@code w} of the
 * {@linkplain ListVariant#warmupFraction variant}:
 * <pre>
 *   warmupFraction &gt; 0 and s &lt; w:  lr = s / w * lr0
 *   otherwise:                      lr = (lr0 - lrMin) * (cos(pi * (max(s, c) - c) / (T - c)) / 2 + 0.5) + lrMin
 * </pre>
 * When {@code c == T} there is no decay phase and {@code lr = lr0}. From step {@code T} on the rate stays at
 * its final value, so training past {@code T} is allowed.
 */
public final class CosineSchedule {

    /**
     * The largest training length and step count there is: 2^53, the largest count a double (in which the schedule
     * and the bias correction are computed) holds exactly. Loads and setters refuse larger step counts.
     */
    public static final long MAX_STEPS = 1L << 53;

    private CosineSchedule() {
    }

    /**
     * The learning rate of step {@code step} (0 for the first call of {@code step()}).
     *
     * @throws IllegalArgumentException if {@code step < 0}, {@code trainingSteps <= 0}, or an argument is null
     */
    public static double learningRate(NAdamWConfig config, long step, long trainingSteps, ListVariant variant) {
        if (config == null || variant == null) {
            throw new IllegalArgumentException("config and variant must not be null");
        }
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        requireTrainingSteps(trainingSteps);
        double total = trainingSteps;
        double s = Math.min(step, trainingSteps);
        double constantSteps = total * config.constantFraction();
        double warmupSteps = total * variant.warmupFraction(config);
        double peak = config.learningRate();
        if (warmupSteps > 0 && s < warmupSteps) {
            return s / warmupSteps * peak;
        }
        if (constantSteps >= total) {
            return peak;
        }
        double floor = config.minLearningRateMult() * peak;
        double progress = (Math.max(s, constantSteps) - constantSteps) / (total - constantSteps);
        return (peak - floor) * (Math.cos(Math.PI * progress) / 2 + 0.5) + floor;
    }

    /** Same as {@link #learningRate(NAdamWConfig, long, long, ListVariant)} with {@link ListVariant#TASKSET}. */
    public static double learningRate(NAdamWConfig config, long step, long trainingSteps) {
        return learningRate(config, step, trainingSteps, ListVariant.TASKSET);
    }

    /**
     * Refuses a training length that is not positive or exceeds {@link #MAX_STEPS}. The optimizers' copy, in
     * {@code internal.TrainingSteps}, gives the same messages: the core imports no other package.
     */
    private static void requireTrainingSteps(long trainingSteps) {
        if (trainingSteps <= 0) {
            throw new IllegalArgumentException("trainingSteps must be > 0, got " + trainingSteps);
        }
        if (trainingSteps > MAX_STEPS) {
            throw new IllegalArgumentException("trainingSteps must be at most 2^53 (CosineSchedule.MAX_STEPS), got "
                    + trainingSteps);
        }
    }
}
