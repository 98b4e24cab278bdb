package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.bytedeco.pytorch.global.torch.huber_loss;
import static org.bytedeco.pytorch.global.torch.layer_norm;
import static org.bytedeco.pytorch.global.torch.relu;

/**
 * Robust regression with a deeper network: a residual MLP of width 64 with four pre-LayerNorm blocks
 * ({@code h + W2 relu(W1 norm(h))}) fits a random tanh teacher in 16 dimensions whose targets carry heavy-tailed
 * noise (Student t with 3 degrees of freedom, scale 0.3), under the Huber loss (delta 1). Minibatches of 128 from 4000
 * points. Objective: Huber loss on 1000 held-out points.
 */
final class ResidualMlpTask implements SearchTask {

    static final int INPUTS = 16;
    static final int WIDTH = 64;
    static final int BLOCKS = 4;
    static final int TEACHER_UNITS = 32;
    private static final double NOISE = 0.3;

    /**
     * The network. Its LayerNorms have no gain or bias: {@link Training#initialize} draws every parameter uniformly,
     * which would be wrong for a gain that should start at 1, and the linear layers after them carry their own scale.
     */
    static final class ResidualMlp extends org.bytedeco.pytorch.Module {
        private final LinearImpl input;
        private final List<LinearImpl[]> blocks = new ArrayList<>();
        private final LinearImpl output;

        ResidualMlp() {
            input = register_module("input", new LinearImpl(INPUTS, WIDTH));
            for (int b = 0; b < BLOCKS; b++) {
                blocks.add(new LinearImpl[]{
                        register_module("block" + b + "_in", new LinearImpl(WIDTH, WIDTH)),
                        register_module("block" + b + "_out", new LinearImpl(WIDTH, WIDTH))});
            }
            output = register_module("output", new LinearImpl(WIDTH, 1));
        }

        /** Predictions {@code [n, 1]} for inputs {@code [n, INPUTS]}. */
        Tensor forward(Tensor x) {
            Tensor h = input.forward(x);
            for (LinearImpl[] block : blocks) {
                h = h.add(block[1].forward(relu(block[0].forward(layer_norm(h, WIDTH)))));
            }
            return output.forward(layer_norm(h, WIDTH));
        }
    }

    @Override
    public String name() {
        return "residual-mlp";
    }

    @Override
    public long protocolSteps() {
        return 500;
    }

    @Override
    public String description() {
        return "residual MLP, 4 LayerNorm blocks of width 64, fits a tanh teacher in 16-D with Student-t noise under"
                + " the Huber loss, batch 128 of 4000; objective: validation Huber loss on 1000 points";
    }

    /** Inputs {@code [n, INPUTS]} and noisy teacher targets {@code [n, 1]}, the teacher drawn from {@code teacher}. */
    static Tensor[] points(Random teacher, Random random, int n) {
        double[][] u = new double[TEACHER_UNITS][INPUTS];
        double[] a = new double[TEACHER_UNITS];
        for (int k = 0; k < TEACHER_UNITS; k++) {
            for (int j = 0; j < INPUTS; j++) {
                u[k][j] = 2 * teacher.nextGaussian() / Math.sqrt(INPUTS);
            }
            a[k] = teacher.nextGaussian() * Math.sqrt(2.0 / TEACHER_UNITS);
        }
        float[] x = new float[n * INPUTS];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < INPUTS; j++) {
                x[i * INPUTS + j] = (float) random.nextGaussian();
            }
            double target = 0;
            for (int k = 0; k < TEACHER_UNITS; k++) {
                double dot = 0;
                for (int j = 0; j < INPUTS; j++) {
                    dot += u[k][j] * x[i * INPUTS + j];
                }
                target += a[k] * Math.tanh(dot);
            }
            y[i] = (float) (target + NOISE * studentT3(random));
        }
        return new Tensor[]{Tensor.create(x, n, INPUTS), Tensor.create(y, n, 1)};
    }

    /** A Student t variate with 3 degrees of freedom: a normal over the root of a chi-square(3) / 3. */
    private static double studentT3(Random random) {
        double chiSquare = 0;
        for (int k = 0; k < 3; k++) {
            double g = random.nextGaussian();
            chiSquare += g * g;
        }
        return random.nextGaussian() / Math.sqrt(chiSquare / 3);
    }

    @Override
    public double run(TrialContext context) {
        Tensor[] train = points(new Random(context.seed() + 2), new Random(context.seed() + 3), 4000);
        Tensor[] validation = points(new Random(context.seed() + 2), new Random(context.seed() + 4), 1000);
        ResidualMlp model = new ResidualMlp();
        return Training.fit(context, model, data -> huber_loss(model.forward(data[0]), data[1]), train, validation,
                128);
    }
}
