package io.github.optlist;

/**
 * Which published code a list entry runs as. The published implementations of the list disagree in two places,
 * the warm-up length and whether an entry's Nesterov flag is honoured:
 *
 * <table>
 *   <caption>The two published behaviours</caption>
 *   <tr><th></th><th>{@link #TASKSET}</th><th>{@link #TORCH_PORT}</th></tr>
 *   <tr><td>code</td><td>TaskSet's {@code get_nadamw}, which trained and ranked the list, and the TF v1
 *       binding</td><td>the PyTorch and JAX bindings</td></tr>
 *   <tr><td>warm-up length</td><td>{@code T * min(warmupFraction, constantFraction)}</td>
 *       <td>{@code T * max(warmupFraction, constantFraction)}</td></tr>
 *   <tr><td>Nesterov</td><td>never (the flag was not passed on)</td><td>as the entry says</td></tr>
 * </table>
 *
 * <p>A list entry becomes the configuration that runs under a variant through {@link #apply(NAdamWConfig)} (or
 * {@link OptList#config(int, ListVariant)}); that is what {@code OptimizerSpec.forIdx} does. The warm-up
 * length is the schedule's business: {@link CosineSchedule#learningRate(NAdamWConfig, long, long, ListVariant)}
 * takes the variant. A custom {@link NAdamWConfig} handed straight to an optimizer runs as it says, Nesterov
 * included; the variant then only picks its warm-up length.
 */
public enum ListVariant {
    /**
     * The code that ranked the list (TaskSet) and the TF v1 binding: warm-up over
     * {@code T * min(warmupFraction, constantFraction)} steps, Nesterov never applied. The default, since the
     * list's order was measured with it.
     */
    TASKSET,
    /**
     * The published PyTorch and JAX bindings, step for step: warm-up over
     * {@code T * max(warmupFraction, constantFraction)} steps, Nesterov as the entry says.
     */
    TORCH_PORT;

    /**
     * The configuration a list entry runs as under this variant: under {@link #TASKSET} the entry without
     * Nesterov, under {@link #TORCH_PORT} the entry itself. The name and every other field are kept.
     *
     * @throws IllegalArgumentException if {@code entry} is null
     */
    public NAdamWConfig apply(NAdamWConfig entry) {
        if (entry == null) {
            throw new IllegalArgumentException("entry must not be null");
        }
        return switch (this) {
            case TASKSET -> entry.useNesterov() ? entry.toBuilder().nesterov(false).build() : entry;
            case TORCH_PORT -> entry;
        };
    }

    /**
     * The warm-up length of {@code config} under this variant, as a fraction of training; 0 when the config has
     * no warm-up.
     *
     * @throws IllegalArgumentException if {@code config} is null
     */
    public double warmupFraction(NAdamWConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        if (config.warmupFraction() == 0) {
            return 0;
        }
        return switch (this) {
            case TASKSET -> Math.min(config.warmupFraction(), config.constantFraction());
            case TORCH_PORT -> Math.max(config.warmupFraction(), config.constantFraction());
        };
    }
}
