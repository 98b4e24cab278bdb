package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

import java.util.Random;

import static org.bytedeco.pytorch.global.torch.relu;

/**
 * Sequence classification with a small 1-D convolutional network: noisy sine, square and sawtooth waves of random
 * frequency, phase and amplitude, 64 samples each. Conv(1→8, k5) → ReLU → Conv(8→8, k5) → ReLU → mean over time →
 * Linear(8→3), minibatches of 64 from 1500 waves. Objective: cross-entropy on 600 held-out waves.
 */
final class WaveConvTask implements SearchTask {

    static final int LENGTH = 64;
    static final int CLASSES = 3;

    /** The network. */
    static final class WaveNet extends org.bytedeco.pytorch.Module {
        private final Convolution conv1;
        private final Convolution conv2;
        private final LinearImpl head;

        WaveNet() {
            conv1 = register_module("conv1", new Convolution(1, 8, 5));
            conv2 = register_module("conv2", new Convolution(8, 8, 5));
            head = register_module("head", new LinearImpl(8, CLASSES));
        }

        /** Class logits {@code [n, CLASSES]} for waves {@code [n, 1, LENGTH]}. */
        Tensor forward(Tensor waves) {
            Tensor h = relu(conv2.forward(relu(conv1.forward(waves))));
            return head.forward(h.mean(new long[]{2}, false, new ScalarTypeOptional()));
        }
    }

    @Override
    public String name() {
        return "wave-conv";
    }

    @Override
    public long protocolSteps() {
        return 500;
    }

    @Override
    public String description() {
        return "sine/square/sawtooth waves of 64 samples, 1-D conv net, batch 64 of 1500;"
                + " objective: validation cross-entropy on 600 waves";
    }

    /** {@code n} waves of shape {@code [n, 1, LENGTH]} and their labels. */
    static Tensor[] waves(Random random, int n) {
        float[] samples = new float[n * LENGTH];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            int label = i % CLASSES;
            double cycles = 1.5 + 2.5 * random.nextDouble();
            double phase = random.nextDouble();
            double amplitude = 0.5 + random.nextDouble();
            for (int j = 0; j < LENGTH; j++) {
                double u = (cycles * j / LENGTH + phase) % 1.0;
                double clean = switch (label) {
                    case 0 -> Math.sin(2 * Math.PI * u);
                    case 1 -> u < 0.5 ? 1.0 : -1.0;
                    default -> 2 * u - 1;
                };
                samples[i * LENGTH + j] = (float) (amplitude * clean + random.nextGaussian() * 0.3);
            }
            labels[i] = label;
        }
        return new Tensor[]{Tensor.create(samples, n, 1, LENGTH), Tensor.create(labels, n)};
    }

    @Override
    public double run(TrialContext context) {
        Tensor[] train = waves(new Random(context.seed() + 2), 1500);
        Tensor[] validation = waves(new Random(context.seed() + 3), 600);
        WaveNet model = new WaveNet();
        return Training.trainClassifier(context, model, model::forward, train, validation, 64);
    }
}
