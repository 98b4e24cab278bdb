package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import io.github.optlist.torch.NAdamWCosineDecay;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import static org.bytedeco.pytorch.global.torch.cross_entropy_loss;

import java.util.Random;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/** What the built-in tasks share: deterministic initialization, the training loop, evaluation without gradients. */
final class Training {

    private Training() {
    }

    /**
     * Sets every parameter from {@code random}, as LibTorch's default for linear and convolution layers does from
     * its global generator: weights and the biases after them uniform in {@code ±1/sqrt(fanIn)}.
     */
    static void initialize(org.bytedeco.pytorch.Module module, Random random) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            var params = module.parameters();
            long fanIn = 1;
            for (long i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                long[] shape = p.shape();
                if (shape.length >= 2) {
                    fanIn = p.numel() / shape[0];
                }
                double bound = 1 / Math.sqrt(fanIn);
                float[] values = new float[(int) p.numel()];
                for (int j = 0; j < values.length; j++) {
                    values[j] = (float) ((random.nextDouble() * 2 - 1) * bound);
                }
                p.copy_(Tensor.create(values, shape));
            }
        }
    }

    /** Trains {@code module} for the trial's length, {@code batchLoss} giving step {@code k}'s loss; reports every loss. */
    static void train(TrialContext context, org.bytedeco.pytorch.Module module, LongFunction<Tensor> batchLoss) {
        try (NAdamWCosineDecay optimizer = context.optimizer(module.parameters())) {
            for (long step = 0; step < context.trainingSteps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zeroGrad();
                    Tensor loss = batchLoss.apply(step);
                    loss.backward();
                    optimizer.step();
                    context.reportLoss(step, loss.item_double());
                }
            }
        }
    }

    /**
     * Trains a classifier on minibatches of {@code batchSize} rows drawn from {@code train} (inputs, labels) and
     * returns its cross-entropy on {@code validation}.
     */
    static double trainClassifier(TrialContext context, org.bytedeco.pytorch.Module module,
                                  Function<Tensor, Tensor> forward, Tensor[] train, Tensor[] validation,
                                  int batchSize) {
        initialize(module, new Random(context.seed()));
        Random batches = new Random(context.seed() + 1);
        int rows = (int) train[1].numel();
        train(context, module, step -> {
            Tensor picked = sampleIndices(batches, batchSize, rows);
            return cross_entropy_loss(forward.apply(train[0].index_select(0, picked)), train[1].index_select(0, picked));
        });
        return evaluate(() -> cross_entropy_loss(forward.apply(validation[0]), validation[1]));
    }

    /** The value of a scalar-valued evaluation, computed without gradients. */
    static double evaluate(Supplier<Tensor> loss) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            return loss.get().item_double();
        }
    }

    static float[] gaussians(Random random, int n, double scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * scale);
        }
        return out;
    }

    /** {@code n} indices drawn uniformly from {@code [0, bound)}, as a Long tensor. */
    static Tensor sampleIndices(Random random, int n, int bound) {
        long[] indices = new long[n];
        for (int i = 0; i < n; i++) {
            indices[i] = random.nextInt(bound);
        }
        return Tensor.create(indices, n);
    }
}
