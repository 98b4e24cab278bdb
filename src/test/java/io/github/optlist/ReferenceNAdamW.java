package io.github.optlist;

/**
 * An independent scalar implementation of the list's update and schedule in plain Java doubles, written from
 * the formulas in {@code ../shared/opt_list/README.md}, as the reference the tensor optimizer is checked against.
 */
public final class ReferenceNAdamW {

    private final NAdamWConfig c;
    private final long trainingSteps;
    private final ListVariant variant;
    private final boolean nesterov;
    private final double[] p;
    private final double[] m;
    private final double[] v;
    private long k;

    /** The update of {@code config} as written, Nesterov included, with {@code variant}'s warm-up length. */
    public ReferenceNAdamW(NAdamWConfig config, long trainingSteps, ListVariant variant, double[] initial) {
        this(config, trainingSteps, variant, config.useNesterov(), initial);
    }

    /**
     * A published list entry run as the published code that {@code variant} names (the README's table): TaskSet
     * and the TF v1 binding never pass {@code use_nesterov}, whose default is False; the PyTorch and JAX bindings
     * pass the entry's flag.
     */
    public static ReferenceNAdamW publishedBinding(NAdamWConfig entry, long trainingSteps, ListVariant variant,
                                                   double[] initial) {
        boolean nesterovPassed = variant == ListVariant.TORCH_PORT;
        return new ReferenceNAdamW(entry, trainingSteps, variant, nesterovPassed && entry.useNesterov(), initial);
    }

    private ReferenceNAdamW(NAdamWConfig config, long trainingSteps, ListVariant variant, boolean nesterov,
                            double[] initial) {
        this.c = config;
        this.trainingSteps = trainingSteps;
        this.variant = variant;
        this.nesterov = nesterov;
        this.p = initial.clone();
        this.m = new double[initial.length];
        this.v = new double[initial.length];
    }

    /** The schedule, straight from the formula. */
    public static double lr(NAdamWConfig c, long k, long trainingSteps, ListVariant variant) {
        double T = trainingSteps;
        double s = Math.min(k, trainingSteps);
        double cSteps = T * c.constantFraction();
        double w = variant == ListVariant.TASKSET
                ? T * Math.min(c.warmupFraction(), c.constantFraction())
                : T * Math.max(c.warmupFraction(), c.constantFraction());
        double lr0 = c.learningRate();
        double lrMin = c.minLearningRateMult() * lr0;
        if (c.warmupFraction() > 0 && s < w) {
            return s / w * lr0;
        }
        if (cSteps == T) {
            return lr0;
        }
        return (lr0 - lrMin) * (Math.cos(Math.PI * (Math.max(s, cSteps) - cSteps) / (T - cSteps)) / 2 + 0.5) + lrMin;
    }

    public void step(double[] grad) {
        double lr = lr(c, k, trainingSteps, variant);
        long t = k + 1;
        double lrT = c.useBiasCorrection()
                ? lr * Math.sqrt(1 - Math.pow(c.beta2(), t)) / (1 - Math.pow(c.beta1(), t))
                : lr;
        for (int i = 0; i < p.length; i++) {
            double g = grad[i] - c.l2WeightDecay() * p[i];
            m[i] = c.beta1() * m[i] + (1 - c.beta1()) * g;
            v[i] = c.beta2() * v[i] + (1 - c.beta2()) * g * g;
            double u = nesterov ? c.beta1() * m[i] + (1 - c.beta1()) * g : m[i];
            p[i] = p[i] - lrT * (u / (Math.sqrt(v[i]) + c.epsilon()) + c.adamwWeightDecay() * p[i]);
        }
        k++;
    }

    public double[] params() {
        return p.clone();
    }
}
