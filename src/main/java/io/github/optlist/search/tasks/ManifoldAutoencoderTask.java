package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.Tensor;

import java.util.Random;

import static org.bytedeco.pytorch.global.torch.mse_loss;

/**
 * An autoencoder with a bottleneck: MLP 24-64-4 encoder, MLP 4-64-24 decoder, on points in 24 dimensions lying near
 * a curved 3-dimensional manifold ({@code x = W2 tanh(W1 z + b)} for {@code z} uniform in {@code [-1, 1]^3}, with
 * {@code W1, b, W2} drawn from the seed, plus noise of 0.02). Minibatches of 128 from 4000 points. Objective:
 * reconstruction mean squared error on 1000 held-out points.
 */
final class ManifoldAutoencoderTask implements SearchTask {

    static final int DIMENSION = 24;
    static final int LATENT = 3;
    static final int HIDDEN = 16;
    static final int CODE = 4;
    private static final double NOISE = 0.02;

    /** Encoder and decoder. */
    static final class Autoencoder extends org.bytedeco.pytorch.Module {
        private final Mlp encoder;
        private final Mlp decoder;

        Autoencoder() {
            encoder = register_module("encoder", new Mlp(DIMENSION, 64, CODE));
            decoder = register_module("decoder", new Mlp(CODE, 64, DIMENSION));
        }

        /** The reconstruction of {@code points} {@code [n, DIMENSION]} through the bottleneck. */
        Tensor forward(Tensor points) {
            return decoder.forward(encoder.forward(points));
        }
    }

    /** The manifold: {@code x = W2 tanh(W1 z + b)}. */
    record Manifold(double[][] w1, double[] b, double[][] w2) {

        static Manifold random(Random random) {
            double[][] w1 = new double[HIDDEN][LATENT];
            double[] b = new double[HIDDEN];
            double[][] w2 = new double[DIMENSION][HIDDEN];
            for (int h = 0; h < HIDDEN; h++) {
                for (int l = 0; l < LATENT; l++) {
                    w1[h][l] = 1.5 * random.nextGaussian();
                }
                b[h] = 0.5 * random.nextGaussian();
            }
            for (int d = 0; d < DIMENSION; d++) {
                for (int h = 0; h < HIDDEN; h++) {
                    w2[d][h] = random.nextGaussian() / Math.sqrt(HIDDEN);
                }
            }
            return new Manifold(w1, b, w2);
        }

        /** {@code n} noisy points of the manifold, {@code [n, DIMENSION]}. */
        Tensor points(Random random, int n) {
            float[] out = new float[n * DIMENSION];
            double[] z = new double[LATENT];
            double[] hidden = new double[HIDDEN];
            for (int i = 0; i < n; i++) {
                for (int l = 0; l < LATENT; l++) {
                    z[l] = 2 * random.nextDouble() - 1;
                }
                for (int h = 0; h < HIDDEN; h++) {
                    double sum = b[h];
                    for (int l = 0; l < LATENT; l++) {
                        sum += w1[h][l] * z[l];
                    }
                    hidden[h] = Math.tanh(sum);
                }
                for (int d = 0; d < DIMENSION; d++) {
                    double sum = 0;
                    for (int h = 0; h < HIDDEN; h++) {
                        sum += w2[d][h] * hidden[h];
                    }
                    out[i * DIMENSION + d] = (float) (sum + NOISE * random.nextGaussian());
                }
            }
            return Tensor.create(out, n, DIMENSION);
        }
    }

    @Override
    public String name() {
        return "manifold-ae";
    }

    @Override
    public long protocolSteps() {
        return 1000;
    }

    @Override
    public String description() {
        return "autoencoder MLP 24-64-4-64-24 on points near a curved 3-D manifold in 24-D, batch 128 of 4000;"
                + " objective: validation reconstruction MSE on 1000 points";
    }

    @Override
    public double run(TrialContext context) {
        Manifold manifold = Manifold.random(new Random(context.seed() + 2));
        Tensor[] train = {manifold.points(new Random(context.seed() + 3), 4000)};
        Tensor[] validation = {manifold.points(new Random(context.seed() + 4), 1000)};
        Autoencoder model = new Autoencoder();
        return Training.fit(context, model, data -> mse_loss(model.forward(data[0]), data[0]), train, validation,
                128);
    }
}
