package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

import java.util.Random;

import static org.bytedeco.pytorch.global.torch.mse_loss;

/**
 * Linear least squares with ill-conditioned features: 32 features whose scales are spread log-evenly from 1 down to
 * 0.01 along random orthogonal directions, so that the loss's Hessian (the features' covariance) has condition number
 * 1e4. The rotation matters: scaled along the coordinate axes, a per-coordinate method such as Adam would undo the
 * scaling and the problem would be easy. Targets are a random linear function of the features plus noise of 0.01.
 * A Linear(32→1) model, minibatches of 128 from 4096 points. Objective: mean squared error on 2048 held-out points.
 */
final class IllConditionedRegressionTask implements SearchTask {

    static final int FEATURES = 32;
    /** Ratio of the largest to the smallest feature scale; the Hessian's condition number is its square. */
    static final double SCALE_RATIO = 100;
    private static final double NOISE = 0.01;

    /** The data's law: {@code x = (z * scales) Q}, {@code y = (z * scales) . v + noise}, {@code z ~ N(0, I)}. */
    record Problem(double[] scales, double[][] rotation, double[] coefficients) {

        static Problem random(Random random) {
            double[] scales = new double[FEATURES];
            double[] coefficients = new double[FEATURES];
            for (int j = 0; j < FEATURES; j++) {
                scales[j] = Math.pow(SCALE_RATIO, -(double) j / (FEATURES - 1));
                coefficients[j] = random.nextGaussian();
            }
            return new Problem(scales, orthogonal(random, FEATURES), coefficients);
        }

        /** A random orthogonal matrix: Gram-Schmidt on Gaussian rows. */
        static double[][] orthogonal(Random random, int n) {
            double[][] q = new double[n][n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    q[i][j] = random.nextGaussian();
                }
                for (int k = 0; k < i; k++) {
                    double dot = 0;
                    for (int j = 0; j < n; j++) {
                        dot += q[i][j] * q[k][j];
                    }
                    for (int j = 0; j < n; j++) {
                        q[i][j] -= dot * q[k][j];
                    }
                }
                double norm = 0;
                for (int j = 0; j < n; j++) {
                    norm += q[i][j] * q[i][j];
                }
                norm = Math.sqrt(norm);
                for (int j = 0; j < n; j++) {
                    q[i][j] /= norm;
                }
            }
            return q;
        }

        /** {@code n} points: features {@code [n, FEATURES]} and targets {@code [n, 1]}. */
        Tensor[] points(Random random, int n) {
            float[] x = new float[n * FEATURES];
            float[] y = new float[n];
            double[] scaled = new double[FEATURES];
            for (int i = 0; i < n; i++) {
                double target = NOISE * random.nextGaussian();
                for (int j = 0; j < FEATURES; j++) {
                    scaled[j] = scales[j] * random.nextGaussian();
                    target += scaled[j] * coefficients[j];
                }
                for (int k = 0; k < FEATURES; k++) {
                    double sum = 0;
                    for (int j = 0; j < FEATURES; j++) {
                        sum += scaled[j] * rotation[j][k];
                    }
                    x[i * FEATURES + k] = (float) sum;
                }
                y[i] = (float) target;
            }
            return new Tensor[]{Tensor.create(x, n, FEATURES), Tensor.create(y, n, 1)};
        }
    }

    @Override
    public String name() {
        return "ill-conditioned";
    }

    @Override
    public long protocolSteps() {
        return 2000;
    }

    @Override
    public String description() {
        return "linear least squares, 32 rotated features with scales 1 to 0.01 (Hessian condition number 1e4),"
                + " batch 128 of 4096; objective: validation MSE on 2048 points";
    }

    @Override
    public double run(TrialContext context) {
        Problem problem = Problem.random(new Random(context.seed() + 2));
        Tensor[] train = problem.points(new Random(context.seed() + 3), 4096);
        Tensor[] validation = problem.points(new Random(context.seed() + 4), 2048);
        LinearImpl model = new LinearImpl(FEATURES, 1);
        return Training.fit(context, model, data -> mse_loss(model.forward(data[0]), data[1]), train, validation,
                128);
    }
}
