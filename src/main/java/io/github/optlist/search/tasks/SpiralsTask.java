package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.Tensor;

import java.util.Random;


/**
 * Classification of three interleaved noisy spirals (1.5 turns, radius 3) with an MLP 2-64-64-3, minibatches of 128
 * from
 * 3000 training points. Objective: cross-entropy on 1500 held-out points.
 */
final class SpiralsTask implements SearchTask {

    static final int CLASSES = 3;

    @Override
    public String name() {
        return "spirals";
    }

    @Override
    public long protocolSteps() {
        return 1000;
    }

    @Override
    public String description() {
        return "3-class noisy spirals, MLP 2-64-64-3, batch 128 of 3000 points;"
                + " objective: validation cross-entropy on 1500 points";
    }

    /** {@code n} points and their labels: x in the first tensor, the class in the second. */
    static Tensor[] spirals(Random random, int n) {
        float[] points = new float[2 * n];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            int label = i % CLASSES;
            double t = random.nextDouble();
            double angle = 3 * Math.PI * t + 2 * Math.PI * label / CLASSES + random.nextGaussian() * 0.15;
            points[2 * i] = (float) (3 * t * Math.cos(angle) + random.nextGaussian() * 0.05);
            points[2 * i + 1] = (float) (3 * t * Math.sin(angle) + random.nextGaussian() * 0.05);
            labels[i] = label;
        }
        return new Tensor[]{Tensor.create(points, n, 2), Tensor.create(labels, n)};
    }

    @Override
    public double run(TrialContext context) {
        Tensor[] train = spirals(new Random(context.seed() + 2), 3000);
        Tensor[] validation = spirals(new Random(context.seed() + 3), 1500);
        Mlp model = new Mlp(2, 64, 64, CLASSES);
        return Training.trainClassifier(context, model, model::forward, train, validation, 128);
    }
}
