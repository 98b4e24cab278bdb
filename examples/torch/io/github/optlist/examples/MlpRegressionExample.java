package io.github.optlist.examples;

import io.github.optlist.OptList;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.TorchOptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.bytedeco.pytorch.global.torch.relu;
import static org.bytedeco.pytorch.global.torch.tanh;

/**
 * The published example of the list, in Java: an MLP 2-256-256-2 with ReLUs fits {@code tanh(1 / (1e-6 + x))}
 * on fresh normal inputs scaled by 1/4, with list entry 0 for 200 steps.
 *
 * <p>Run it with {@code mvn -q compile exec:java@example}.
 */
public final class MlpRegressionExample {

    /** The example's model. */
    public static final class Mlp extends org.bytedeco.pytorch.Module {
        private final LinearImpl fc1;
        private final LinearImpl fc2;
        private final LinearImpl fc3;

        /** Three linear layers 2-256-256-2. */
        public Mlp() {
            fc1 = register_module("fc1", new LinearImpl(2, 256));
            fc2 = register_module("fc2", new LinearImpl(256, 256));
            fc3 = register_module("fc3", new LinearImpl(256, 2));
        }

        /** The model's output for a batch of inputs of shape {@code [n, 2]}. */
        public Tensor forward(Tensor x) {
            return fc3.forward(relu(fc2.forward(relu(fc1.forward(x)))));
        }
    }

    private MlpRegressionExample() {
    }

    /** The loss of one fresh batch: 512 inputs {@code randn / 4}, targets {@code tanh(1 / (1e-6 + x))}. */
    public static Tensor batchLoss(Mlp model) {
        Tensor x = randn(512, 2).div_(new Scalar(4.0));
        Tensor target = tanh(x.add(new Scalar(1e-6)).reciprocal());
        return mse_loss(model.forward(x), target);
    }

    /**
     * Trains a fresh model with list entry {@code idx} for {@code steps} steps from seed {@code seed}.
     *
     * @return the loss of every step, before its update
     */
    public static double[] train(int idx, int steps, long seed) {
        manual_seed(seed);
        Mlp model = new Mlp();
        double[] losses = new double[steps];
        try (NAdamWCosineDecay optimizer = TorchOptList.optimizerForIdx(model.parameters(), idx, steps)) {
            for (int i = 0; i < steps; i++) {
                // Frees this step's temporaries at once instead of leaving them to the garbage collector.
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zeroGrad();
                    Tensor loss = batchLoss(model);
                    loss.backward();
                    optimizer.step();
                    losses[i] = loss.item_double();
                }
            }
        }
        return losses;
    }

    /** Trains with list entry 0 (or the index given as the first argument) and prints the loss. */
    public static void main(String[] args) {
        int idx = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        int steps = 200;
        System.out.println("list entry " + idx + ": " + OptList.config(idx));
        double[] losses = train(idx, steps, 0);
        for (int i = 0; i < steps; i++) {
            if (i % 20 == 0 || i == steps - 1) {
                System.out.printf("step %3d  loss %.6f%n", i, losses[i]);
            }
        }
    }
}
