package io.github.optlist.bench;

import io.github.optlist.torch.OptimizerState;
import io.github.optlist.ListVariant;
import io.github.optlist.distributed.DataParallel;
import io.github.optlist.distributed.TrainingGroup;
import io.github.optlist.distributed.ZeroRedundancyOptimizer;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.TorchOptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Arrays;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.bytedeco.pytorch.global.torch.relu;
import static org.bytedeco.pytorch.global.torch.tanh;
import static org.bytedeco.pytorch.global.torch.zeros;

/**
 * Moments memory per rank and time per training step, data parallel with the unsharded optimizer and with ZeRO-1,
 * for the rank count it is launched with. The model is the example's regression widened to
 * 2-1024-1024-1024-1024-1024-2 (four 1024x1024 weights: 4.2 M float32 parameters, 33.6 MB of moments unsharded),
 * so that up to 4 ranks can each own one large tensor (ZeRO-1 shards whole tensors), and the global batch is 512
 * rows, split over the ranks. Rank 0 prints two Markdown table rows: every rank's moments, and the slowest rank's
 * median time per step over the timed steps, after warm-up steps. It uses the library's public API only.
 *
 * <pre>
 * for n in 1 2 4; do bin/opt-list launch --nproc $n --classpath target/bench \
 *     io.github.optlist.bench.DistributedBenchmark; done
 * </pre>
 */
public final class DistributedBenchmark {

    private static final int WIDTH = 1024;
    private static final int BATCH = 512;
    private static final int WARMUP = 5;
    private static final int TIMED = 30;

    private DistributedBenchmark() {
    }

    private static final class WideMlp extends org.bytedeco.pytorch.Module {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(2, WIDTH));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(WIDTH, WIDTH));
        final LinearImpl fc3 = register_module("fc3", new LinearImpl(WIDTH, WIDTH));
        final LinearImpl fc4 = register_module("fc4", new LinearImpl(WIDTH, WIDTH));
        final LinearImpl fc5 = register_module("fc5", new LinearImpl(WIDTH, WIDTH));
        final LinearImpl fc6 = register_module("fc6", new LinearImpl(WIDTH, 2));

        Tensor forward(Tensor x) {
            Tensor h = relu(fc1.forward(x));
            h = relu(fc2.forward(h));
            h = relu(fc3.forward(h));
            h = relu(fc4.forward(h));
            return fc6.forward(relu(fc5.forward(h)));
        }
    }

    /** Runs under 'launch'; see the class description. */
    public static void main(String[] args) {
        try (TrainingGroup group = TrainingGroup.fromEnvironment()) {
            if (group.rank() == 0) {
                System.out.println("| ranks | optimizer | moments per rank (MB, rank 0 / 1 / ...)"
                        + " | median ms per step |");
                System.out.println("|---|---|---|---|");
            }
            for (boolean zero : new boolean[]{false, true}) {
                run(group, zero);
            }
            group.barrier();
        }
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }

    private static void run(TrainingGroup group, boolean zero) {
        manual_seed(0);
        WideMlp model = new WideMlp();
        int from = group.rank() * BATCH / group.worldSize();
        int rows = (group.rank() + 1) * BATCH / group.worldSize() - from;
        int steps = WARMUP + TIMED;
        double[] millis = new double[TIMED];
        long momentBytes;
        try (DataParallel dp = DataParallel.of(group, model.parameters());
             NAdamWCosineDecay plain = zero ? null : TorchOptList.optimizerForIdx(model.parameters(), 0, steps);
             ZeroRedundancyOptimizer sharded = zero
                     ? ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(model.parameters(), 0, steps,
                             ListVariant.TASKSET, OptimizerOptions.DEFAULTS)) : null) {
            for (int step = 0; step < steps; step++) {
                group.barrier();
                long start = System.nanoTime();
                try (PointerScope scope = new PointerScope()) {
                    manual_seed(1000 + step);
                    Tensor x = randn(BATCH, 2).div_(new Scalar(4.0)).narrow(0, from, rows);
                    Tensor target = tanh(x.add(new Scalar(1e-6)).reciprocal());
                    if (zero) {
                        sharded.zeroGrad();
                    } else {
                        plain.zeroGrad();
                    }
                    mse_loss(model.forward(x), target).backward();
                    dp.averageGradients();
                    if (zero) {
                        sharded.step();
                    } else {
                        plain.step();
                    }
                }
                if (step >= WARMUP) {
                    millis[step - WARMUP] = (System.nanoTime() - start) / 1e6;
                }
            }
            momentBytes = zero ? sharded.momentBytes() : momentBytes(plain, model.parameters());
        }
        double[] perRank = everyRank(group, momentBytes);
        double slowest = Arrays.stream(everyRank(group, median(millis))).max().orElseThrow();
        if (group.rank() == 0) {
            StringBuilder moments = new StringBuilder();
            for (double bytes : perRank) {
                moments.append(moments.length() == 0 ? "" : " / ").append(String.format("%.2f", bytes / 1e6));
            }
            System.out.printf("| %d | %s | %s | %.1f |%n", group.worldSize(), zero ? "ZeRO-1" : "unsharded",
                    moments, slowest);
        }
    }

    /** Every rank's {@code value}, on every rank: each writes its own slot, and one all-reduce sums the slots. */
    private static double[] everyRank(TrainingGroup group, double value) {
        try (PointerScope scope = new PointerScope()) {
            Tensor slots = zeros(new long[]{group.worldSize()}, new TensorOptions(ScalarType.Double));
            slots.narrow(0, group.rank(), 1).fill_(new Scalar(value));
            group.allReduceSum(slots);
            double[] values = new double[group.worldSize()];
            slots.data_ptr_double().get(values);
            return values;
        }
    }

    private static long momentBytes(NAdamWCosineDecay opt, TensorVector params) {
        long bytes = 0;
        try (PointerScope scope = new PointerScope()) {
            for (long i = 0; i < params.size(); i++) {
                OptimizerState.Param state = opt.stateDict(params.get(i));
                if (state.hasMoments()) {
                    bytes += state.expAvg().nbytes() + state.expAvgSq().nbytes();
                }
            }
        }
        return bytes;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
