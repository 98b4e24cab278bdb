package io.github.optlist.examples;

import io.github.optlist.search.SearchListener;
import io.github.optlist.reproduce.Reproduce;
import io.github.optlist.reproduce.ReproduceResult;
import io.github.optlist.reproduce.ReproduceSettings;
import io.github.optlist.reproduce.ReproduceTask;
import io.github.optlist.search.Trial;
import io.github.optlist.torch.NAdamWCosineDecay;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.bytedeco.pytorch.global.torch.binary_cross_entropy_with_logits;
import static org.bytedeco.pytorch.global.torch.tanh;

/**
 * The list against random search and Adam on a model of one's own: a small MLP tells two concentric noisy rings
 * apart, trained on minibatches and judged on a held-out split, run through the {@code reproduce} protocol.
 *
 * <p>Run it with {@code mvn -q compile exec:java@reproduce-example} or from an IDE; add
 * {@code -Dexec.args=--quick} for a plumbing check in seconds. The report lands in {@code runs/reproduce-own-task}.
 */
public final class ReproduceOwnTaskExample {

    /** The user's model: 2-32-1 with a tanh. */
    static final class RingNet extends org.bytedeco.pytorch.Module {
        private final LinearImpl hidden = register_module("hidden", new LinearImpl(2, 32));
        private final LinearImpl out = register_module("out", new LinearImpl(32, 1));

        /** Sets every parameter from {@code random}: uniform in ±1/sqrt(fan-in), as LibTorch does. */
        RingNet(Random random) {
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                TensorVector params = parameters();
                for (long i = 0; i < params.size(); i++) {
                    Tensor p = params.get(i);
                    double bound = 1 / Math.sqrt(i < 2 ? 2 : 32);
                    float[] values = new float[(int) p.numel()];
                    for (int j = 0; j < values.length; j++) {
                        values[j] = (float) ((random.nextDouble() * 2 - 1) * bound);
                    }
                    p.copy_(Tensor.create(values, p.shape()));
                }
            }
        }

        Tensor logits(Tensor x) {
            return out.forward(tanh(hidden.forward(x)));
        }
    }

    /** {@code n} points on two noisy rings (radius 1 and 2) and their labels (0 inner, 1 outer). */
    static Tensor[] rings(Random random, int n) {
        float[] xy = new float[2 * n];
        float[] label = new float[n];
        for (int i = 0; i < n; i++) {
            double angle = 2 * Math.PI * random.nextDouble();
            double radius = (i % 2 == 0 ? 1 : 2) + random.nextGaussian() * 0.25;
            xy[2 * i] = (float) (radius * Math.cos(angle));
            xy[2 * i + 1] = (float) (radius * Math.sin(angle));
            label[i] = i % 2;
        }
        return new Tensor[]{Tensor.create(xy, n, 2), Tensor.create(label, n, 1)};
    }

    /**
     * The user's training run as a {@link Trial}: model, data and batch order from {@code context.seed()} (so
     * every method starts from the same place), the optimizer from the context, the held-out loss returned.
     */
    static final Trial RINGS = context -> {
        RingNet model = new RingNet(new Random(context.seed()));
        Tensor[] train = rings(new Random(context.seed() + 1), 2000);
        Tensor[] heldOut = rings(new Random(context.seed() + 2), 1000);
        Random batches = new Random(context.seed() + 3);
        try (NAdamWCosineDecay optimizer = context.optimizer(model.parameters())) {
            for (long step = 0; step < context.trainingSteps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    long[] rows = batches.ints(64, 0, 2000).asLongStream().toArray();
                    Tensor picked = Tensor.create(rows, 64);
                    Tensor loss = binary_cross_entropy_with_logits(model.logits(train[0].index_select(0, picked)),
                            train[1].index_select(0, picked));
                    optimizer.zeroGrad();
                    loss.backward();
                    optimizer.step();
                    context.reportLoss(step, loss.item_double());
                }
            }
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            return binary_cross_entropy_with_logits(model.logits(heldOut[0]), heldOut[1]).item_double();
        }
    };

    private ReproduceOwnTaskExample() {
    }

    /** Runs the protocol on the rings task (400 steps; with {@code quick} 20 steps and a pool of 10). */
    public static ReproduceResult run(Path folder, boolean quick) throws IOException {
        ReproduceSettings settings = quick ? ReproduceSettings.quick() : ReproduceSettings.protocol();
        return Reproduce.run(settings.withWorkers(2, 1), List.of(new ReproduceTask("rings", 400, RINGS)), folder,
                SearchListener.NONE);
    }

    /** Runs it and prints where the report is; {@code --quick} for a plumbing check. */
    public static void main(String[] args) throws IOException {
        boolean quick = List.of(args).contains("--quick");
        ReproduceResult result = run(Path.of(quick ? "runs/reproduce-own-task-quick" : "runs/reproduce-own-task"),
                quick);
        System.out.println("summary: " + result.files().get(0).toAbsolutePath());
    }
}
