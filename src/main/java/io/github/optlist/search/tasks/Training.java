package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import io.github.optlist.torch.NAdamWCosineDecay;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.indexer.DoubleIndexer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;

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

    /** How many steps' losses are read back to the host at once: on CUDA, one synchronization per this many steps. */
    static final int LOSS_READBACK_STEPS = 10;

    /**
     * Trains {@code module} for the trial's length, {@code batchLoss} giving step {@code k}'s loss, and reports every
     * step's loss in step order.
     *
     * <p>Reading a loss to the host waits for the device to finish, which on CUDA would stall the queue every step.
     * Each step's loss is therefore copied into a small buffer on its own device and the buffer is read back every
     * {@link #LOSS_READBACK_STEPS} steps and after the last step. The divergence rule still sees every step's loss,
     * but up to {@code LOSS_READBACK_STEPS - 1} steps late: a diverging trial runs that many more steps before it is
     * stopped, at the step where its loss first broke the rule.
     */
    static void train(TrialContext context, org.bytedeco.pytorch.Module module, LongFunction<Tensor> batchLoss) {
        TensorVector params = module.parameters();
        // Lives across the per-step scopes below; the dtype and device of the parameters, hence of the losses.
        Tensor recentLosses = params.get(0).new_zeros(LOSS_READBACK_STEPS);
        long steps = context.trainingSteps();
        try (NAdamWCosineDecay optimizer = context.optimizer(params)) {
            for (long step = 0; step < steps; step++) {
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zeroGrad();
                    Tensor loss = batchLoss.apply(step);
                    loss.backward();
                    optimizer.step();
                    int slot = (int) (step % LOSS_READBACK_STEPS);
                    recentLosses.select(0, slot).copy_(loss.detach());
                    if (slot == LOSS_READBACK_STEPS - 1 || step == steps - 1) {
                        reportLosses(context, recentLosses, step - slot, slot + 1);
                    }
                }
            }
        }
    }

    /** Reads the first {@code count} losses of {@code losses} back (one synchronization) and reports them in order. */
    private static void reportLosses(TrialContext context, Tensor losses, long firstStep, int count) {
        try (DoubleIndexer values = losses.to(ScalarType.Double).cpu().createIndexer()) {
            for (int i = 0; i < count; i++) {
                context.reportLoss(firstStep + i, values.get(i));
            }
        }
    }

    /**
     * Initializes {@code module} from the trial's seed, trains it on minibatches of {@code batchSize} rows drawn from
     * {@code train} (tensors with the same number of rows, e.g. inputs and targets, all indexed alike) and returns
     * {@code loss} on the whole of {@code validation}. {@code loss} maps one such set of tensors to a scalar.
     */
    static double fit(TrialContext context, org.bytedeco.pytorch.Module module, Function<Tensor[], Tensor> loss,
                      Tensor[] train, Tensor[] validation, int batchSize) {
        initialize(module, new Random(context.seed()));
        Random batches = new Random(context.seed() + 1);
        int rows = (int) train[0].size(0);
        train(context, module, step -> {
            Tensor picked = sampleIndices(batches, batchSize, rows);
            Tensor[] batch = new Tensor[train.length];
            for (int i = 0; i < train.length; i++) {
                batch[i] = train[i].index_select(0, picked);
            }
            return loss.apply(batch);
        });
        return evaluate(() -> loss.apply(validation));
    }

    /**
     * Trains a classifier on minibatches of {@code batchSize} rows drawn from {@code train} (inputs, labels) and
     * returns its cross-entropy on {@code validation}.
     */
    static double trainClassifier(TrialContext context, org.bytedeco.pytorch.Module module,
                                  Function<Tensor, Tensor> forward, Tensor[] train, Tensor[] validation,
                                  int batchSize) {
        return fit(context, module, data -> cross_entropy_loss(forward.apply(data[0]), data[1]), train, validation,
                batchSize);
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
