package io.github.optlist.examples;

import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import io.github.optlist.distributed.DataParallel;
import io.github.optlist.distributed.TrainingGroup;
import io.github.optlist.distributed.ZeroRedundancyOptimizer;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.TorchOptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.bytedeco.pytorch.global.torch.tanh;

/**
 * The list's example MLP ({@link MlpRegressionExample}) trained data-parallel: each rank computes the gradient of
 * its slice of every batch of 512, the gradients are averaged over the ranks, and every rank applies list entry 0
 * (with {@code --zero}, sharded: each rank keeps the moments of the parameters it owns). Every rank draws the same
 * batches, so the run follows the single-process one.
 *
 * <p>Start it on 2 ranks from a clone:
 * <pre>
 * bin/opt-list launch --nproc 2 --classpath target/examples io.github.optlist.examples.DataParallelExample [--zero]
 * </pre>
 */
public final class DataParallelExample {

    private static final int STEPS = 200;
    private static final int BATCH = 512;

    private DataParallelExample() {
    }

    /** Joins the group from the launcher's environment and trains; rank 0 prints the loss. */
    public static void main(String[] args) {
        boolean zero = List.of(args).contains("--zero");
        int idx = 0;
        try (TrainingGroup group = TrainingGroup.fromEnvironment()) {
            int from = group.rank() * BATCH / group.worldSize();
            int rows = (group.rank() + 1) * BATCH / group.worldSize() - from;
            manual_seed(0);
            MlpRegressionExample.Mlp model = new MlpRegressionExample.Mlp();
            if (group.rank() == 0) {
                System.out.println(group.worldSize() + " ranks, list entry " + idx + ": " + OptList.config(idx)
                        + (zero ? ", optimizer state sharded (ZeRO-1)" : ""));
            }
            try (DataParallel dp = DataParallel.of(group, model.parameters());
                 Optimizer optimizer = zero
                         ? Optimizer.of(ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(model.parameters(), idx,
                                 STEPS, ListVariant.TASKSET, OptimizerOptions.DEFAULTS)))
                         : Optimizer.of(TorchOptList.optimizerForIdx(model.parameters(), idx, STEPS))) {
                Tensor lossSum = org.bytedeco.pytorch.global.torch.zeros(1);
                for (int step = 0; step < STEPS; step++) {
                    try (PointerScope scope = new PointerScope()) {
                        manual_seed(1000 + step);
                        Tensor x = randn(BATCH, 2).div_(new Scalar(4.0)).narrow(0, from, rows);
                        Tensor target = tanh(x.add(new Scalar(1e-6)).reciprocal());
                        optimizer.zeroGrad();
                        Tensor loss = mse_loss(model.forward(x), target);
                        loss.backward();
                        dp.averageGradients();
                        optimizer.step();
                        if (step % 20 == 0 || step == STEPS - 1) {
                            lossSum.copy_(loss.detach().reshape(1));
                            group.allReduceSum(lossSum);
                            if (group.rank() == 0) {
                                System.out.printf("step %3d  loss %.6f%n", step,
                                        lossSum.item_double() / group.worldSize());
                            }
                        }
                    }
                }
            }
        }
    }

    /** The two optimizers behind one face, for this example. */
    private interface Optimizer extends AutoCloseable {
        void zeroGrad();

        void step();

        @Override
        void close();

        static Optimizer of(NAdamWCosineDecay opt) {
            return new Optimizer() {
                public void zeroGrad() { opt.zeroGrad(); }
                public void step() { opt.step(); }
                public void close() { opt.close(); }
            };
        }

        static Optimizer of(ZeroRedundancyOptimizer opt) {
            return new Optimizer() {
                public void zeroGrad() { opt.zeroGrad(); }
                public void step() { opt.step(); }
                public void close() { opt.close(); }
            };
        }
    }
}
