package io.github.optlist;

/**
 * The bias-corrected step size of the update: a pure function of a configuration, a learning rate and the
 * update's number, computed in double precision. The optimizer multiplies its learning rate by it once per step
 * on the host, so that the tensors never see {@code beta^t}.
 *
 * <p>For update {@code t = k + 1} (1-based) with learning rate {@code lr = schedule(k)}:
 * <pre>
 *   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)     with bias correction (every list entry)
 *   lr_t = lr                                          without
 * </pre>
 */
public final class BiasCorrection {

    private BiasCorrection() {
    }

    /**
     * The step size {@code lr_t} of update {@code t} (1-based) with learning rate {@code learningRate}.
     *
     * @throws IllegalArgumentException if {@code config} is null or {@code t < 1}
     */
    public static double stepSize(NAdamWConfig config, double learningRate, long t) {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        if (t < 1) {
            throw new IllegalArgumentException("t counts updates from 1, got " + t);
        }
        if (!config.useBiasCorrection()) {
            return learningRate;
        }
        return learningRate * Math.sqrt(1 - Math.pow(config.beta2(), t)) / (1 - Math.pow(config.beta1(), t));
    }
}
