package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

import java.util.Random;

import static org.bytedeco.pytorch.global.torch.relu;

/**
 * Image classification with a small 2-D convolutional network: noisy 12x12 images of a horizontal bar, a vertical
 * bar, a hollow square or a round blob, of random position, size and brightness. Conv(1→8, 3x3) → ReLU →
 * Conv(8→16, 3x3) → ReLU → mean over the image → Linear(16→4), minibatches of 64 from 2000 images. Objective:
 * cross-entropy on 800 held-out images.
 */
final class ShapesConvTask implements SearchTask {

    static final int SIZE = 12;
    static final int CLASSES = 4;
    private static final double NOISE = 0.3;

    /** The network. */
    static final class ShapesNet extends org.bytedeco.pytorch.Module {
        private final Convolution conv1;
        private final Convolution conv2;
        private final LinearImpl head;

        ShapesNet() {
            conv1 = register_module("conv1", new Convolution(1, 8, 3, 3));
            conv2 = register_module("conv2", new Convolution(8, 16, 3, 3));
            head = register_module("head", new LinearImpl(16, CLASSES));
        }

        /** Class logits {@code [n, CLASSES]} for images {@code [n, 1, SIZE, SIZE]}. */
        Tensor forward(Tensor images) {
            Tensor h = relu(conv2.forward(relu(conv1.forward(images))));
            return head.forward(h.mean(new long[]{2, 3}, false, new ScalarTypeOptional()));
        }
    }

    @Override
    public String name() {
        return "shapes-conv";
    }

    @Override
    public long protocolSteps() {
        return 400;
    }

    @Override
    public String description() {
        return "12x12 noisy images of bars, squares and blobs, 2-D conv net, batch 64 of 2000;"
                + " objective: validation cross-entropy on 800 images";
    }

    /** {@code n} images of shape {@code [n, 1, SIZE, SIZE]} and their labels. */
    static Tensor[] images(Random random, int n) {
        float[] pixels = new float[n * SIZE * SIZE];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            int label = i % CLASSES;
            double[][] image = new double[SIZE][SIZE];
            double brightness = 0.8 + 0.7 * random.nextDouble();
            switch (label) {
                case 0, 1 -> {
                    int length = 6 + random.nextInt(5);
                    int thickness = 1 + random.nextInt(2);
                    int along = random.nextInt(SIZE - length + 1);
                    int across = random.nextInt(SIZE - thickness + 1);
                    for (int a = along; a < along + length; a++) {
                        for (int b = across; b < across + thickness; b++) {
                            if (label == 0) {
                                image[b][a] = brightness;
                            } else {
                                image[a][b] = brightness;
                            }
                        }
                    }
                }
                case 2 -> {
                    int side = 5 + random.nextInt(4);
                    int top = random.nextInt(SIZE - side + 1);
                    int left = random.nextInt(SIZE - side + 1);
                    for (int k = 0; k < side; k++) {
                        image[top][left + k] = brightness;
                        image[top + side - 1][left + k] = brightness;
                        image[top + k][left] = brightness;
                        image[top + k][left + side - 1] = brightness;
                    }
                }
                default -> {
                    double rowCentre = 3 + 5 * random.nextDouble();
                    double columnCentre = 3 + 5 * random.nextDouble();
                    double radius = 1.2 + 0.8 * random.nextDouble();
                    for (int r = 0; r < SIZE; r++) {
                        for (int c = 0; c < SIZE; c++) {
                            double d2 = Math.pow(r - rowCentre, 2) + Math.pow(c - columnCentre, 2);
                            image[r][c] = brightness * Math.exp(-d2 / (2 * radius * radius));
                        }
                    }
                }
            }
            for (int r = 0; r < SIZE; r++) {
                for (int c = 0; c < SIZE; c++) {
                    pixels[(i * SIZE + r) * SIZE + c] = (float) (image[r][c] + NOISE * random.nextGaussian());
                }
            }
            labels[i] = label;
        }
        return new Tensor[]{Tensor.create(pixels, n, 1, SIZE, SIZE), Tensor.create(labels, n)};
    }

    @Override
    public double run(TrialContext context) {
        Tensor[] train = images(new Random(context.seed() + 2), 2000);
        Tensor[] validation = images(new Random(context.seed() + 3), 800);
        ShapesNet model = new ShapesNet();
        return Training.trainClassifier(context, model, model::forward, train, validation, 64);
    }
}
