package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.StatePrecision;
import io.github.optlist.torch.TorchOptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The rank side of {@link DistributedTrainingTest}: started by {@link Launcher} in 2 JVMs, runs one scenario and
 * writes what it ended with to files the test compares with single-process references. Exit code 3 reports a
 * caught {@link DistributedException}, printed as {@code CAUGHT: message}.
 */
public final class DistributedWorker {

    static final int STEPS = 4;
    static final int CHECKPOINT_STEPS = 6;
    static final int CHECKPOINT_AT = 3;
    static final int[] ENTRIES = {0, 1};
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** The half-precision dtypes the master-weights checkpoint runs in. */
    static final ScalarType[] HALF_DTYPES = {ScalarType.Half, ScalarType.BFloat16};
    static final OptimizerOptions MASTER_WEIGHTS = OptimizerOptions.DEFAULTS.withStatePrecision(
            StatePrecision.FLOAT32_MASTER_WEIGHTS);

    private DistributedWorker() {
    }

    /** {@code train <dir>}, {@code resume <dir>}, {@code nccl <dir>}, {@code hang} or {@code failures <p> <p>}. */
    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        try {
            switch (scenario) {
                case "train" -> train(Path.of(args[1]));
                case "resume" -> resume(Path.of(args[1]));
                case "nccl" -> nccl(Path.of(args[1]));
                case "hang" -> hang();
                case "failures" -> {
                    badInput(Integer.parseInt(args[1]));
                    kill(Integer.parseInt(args[2]));
                }
                default -> throw new IllegalArgumentException(scenario);
            }
        } catch (DistributedException e) {
            System.out.println("CAUGHT: " + e.getMessage());
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }
        System.out.flush();
        // Skips LibTorch's static destructors, as a training script's end would.
        Runtime.getRuntime().halt(0);
    }

    private static TrainingGroup join() {
        return TrainingGroup.join(GroupSettings.fromEnvironment(GroupSettings.Backend.GLOO, TIMEOUT));
    }

    /** Data parallel for both entries under both variants, ZeRO-1, and a ZeRO-1 checkpoint mid-run. */
    /** {@code STEPS} data-parallel steps on this rank's rows, with either kind of optimizer. */
    private static void trainSlice(TinyTraining.Mlp model, DataParallel dp, int[] rows, Runnable zeroGrad,
                                   Runnable step) {
        for (int k = 0; k < STEPS; k++) {
            try (PointerScope scope = new PointerScope()) {
                zeroGrad.run();
                TinyTraining.loss(model, k, rows[0], rows[1]).backward();
                dp.averageGradients();
                step.run();
            }
        }
    }

    private static void train(Path dir) throws Exception {
        try (TrainingGroup group = join()) {
            noncontiguous(group, dir);
            int[] rows = TinyTraining.rows(group.rank(), group.worldSize());
            for (ListVariant variant : ListVariant.values()) {
                for (int idx : ENTRIES) {
                    // Rank 1 starts from other weights: the broadcast from rank 0 must fix them.
                    TinyTraining.Mlp model = new TinyTraining.Mlp(1 + group.rank() * 7L, 8);
                    try (DataParallel dp = DataParallel.of(group, model.parameters());
                         NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(model.parameters(), idx,
                                 STEPS, variant, OptimizerOptions.DEFAULTS))) {
                        trainSlice(model, dp, rows, opt::zeroGrad, opt::step);
                    }
                    TinyTraining.write(dir.resolve("dp-" + variant + "-" + idx + "-rank" + group.rank() + ".txt"),
                            TinyTraining.values(model.parameters()));
                }
                TinyTraining.Mlp model = new TinyTraining.Mlp(1 + group.rank() * 7L, 8);
                try (DataParallel dp = DataParallel.of(group, model.parameters());
                     ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group,
                             OptimizerSpec.forIdx(model.parameters(), 1, STEPS, variant, OptimizerOptions.DEFAULTS))) {
                    trainSlice(model, dp, rows, opt::zeroGrad, opt::step);
                    TinyTraining.write(dir.resolve("zero-" + variant + "-moments-rank" + group.rank() + ".txt"),
                            new double[]{opt.momentBytes()});
                }
                TinyTraining.write(dir.resolve("zero-" + variant + "-1-rank" + group.rank() + ".txt"),
                        TinyTraining.values(model.parameters()));
            }
            // A ZeRO-1 run of CHECKPOINT_STEPS with a checkpoint after CHECKPOINT_AT, under TORCH_PORT (Nesterov).
            TinyTraining.Mlp model = new TinyTraining.Mlp(1, 8);
            try (DataParallel dp = DataParallel.of(group, model.parameters());
                 ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group,
                         OptimizerSpec.forIdx(model.parameters(), 1, CHECKPOINT_STEPS, ListVariant.TORCH_PORT,
                                 OptimizerOptions.DEFAULTS))) {
                for (int k = 0; k < CHECKPOINT_STEPS; k++) {
                    if (k == CHECKPOINT_AT) {
                        opt.save(dir.resolve("checkpoint.pt"));
                        if (group.rank() == 0) {
                            TinyTraining.write(dir.resolve("checkpoint-params.txt"),
                                    TinyTraining.values(model.parameters()));
                        }
                    }
                    try (PointerScope scope = new PointerScope()) {
                        opt.zeroGrad();
                        TinyTraining.loss(model, k, rows[0], rows[1]).backward();
                        dp.averageGradients();
                        opt.step();
                    }
                }
            }
            TinyTraining.write(dir.resolve("uninterrupted-rank" + group.rank() + ".txt"),
                    TinyTraining.values(model.parameters()));
            for (ScalarType dtype : HALF_DTYPES) {
                trainHalf(group, dir, dtype);
            }
            scaledStepWithAnInfOnOneRank(group, dir);
            group.barrier();
        }
    }

    /** The loss scale of the scaled-step scenario: GradScaler's default initial scale. */
    static final double LOSS_SCALE = 65536;

    /** Step {@code k}'s gradients over the whole batch, times {@link #LOSS_SCALE}: the same on every rank. */
    static void scaledBackward(TinyTraining.Mlp model, int k) {
        try (PointerScope scope = new PointerScope()) {
            TinyTraining.loss(model, k, 0, TinyTraining.BATCH).mul(new org.bytedeco.pytorch.Scalar(LOSS_SCALE))
                    .backward();
        }
    }

    /** Makes the first element of parameter {@code index}'s gradient infinite. */
    static void makeInfinite(TinyTraining.Mlp model, int index) {
        try (PointerScope scope = new PointerScope()) {
            model.parameters().get(index).grad().view(-1).narrow(0, 0, 1)
                    .fill_(new org.bytedeco.pytorch.Scalar(Double.POSITIVE_INFINITY));
        }
    }

    /**
     * ZeRO-1 {@code scaledStep}: first with an infinite gradient on rank 1 only, in a parameter rank 1 owns (rank 0's
     * gradients are all finite, so only the agreement makes it skip), then a finite step. Writes, per attempt, whether
     * it ran, the step count and the parameters; and which parameter was made infinite.
     */
    private static void scaledStepWithAnInfOnOneRank(TrainingGroup group, Path dir) throws Exception {
        TinyTraining.Mlp model = new TinyTraining.Mlp(1, 8);
        try (ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(model.parameters(),
                1, STEPS, ListVariant.TORCH_PORT, OptimizerOptions.DEFAULTS))) {
            int infinite = 0;
            while (opt.ownerOf(0, infinite) != 1) {
                infinite++;
            }
            String rank = "-rank" + group.rank() + ".txt";
            TinyTraining.write(dir.resolve("scaled-before" + rank), TinyTraining.values(model.parameters()));
            scaledBackward(model, 0);
            if (group.rank() == 1) {
                makeInfinite(model, infinite);
                TinyTraining.write(dir.resolve("scaled-infinite-param.txt"), new double[]{infinite});
            }
            boolean ran = opt.scaledStep(LOSS_SCALE);
            TinyTraining.write(dir.resolve("scaled-skip" + rank), attempt(ran, opt.stepCount(), model));
            opt.zeroGrad();
            scaledBackward(model, 1);
            ran = opt.scaledStep(LOSS_SCALE);
            TinyTraining.write(dir.resolve("scaled-step" + rank), attempt(ran, opt.stepCount(), model));
        }
    }

    /** Whether a step ran (1 or 0), the step count, then the parameters. */
    static double[] attempt(boolean ran, long stepCount, TinyTraining.Mlp model) {
        double[] params = TinyTraining.values(model.parameters());
        double[] out = new double[params.length + 2];
        out[0] = ran ? 1 : 0;
        out[1] = stepCount;
        System.arraycopy(params, 0, out, 2, params.length);
        return out;
    }

    /**
     * A ZeRO-1 run with float32 master weights over {@code dtype} parameters, with a checkpoint after
     * {@code CHECKPOINT_AT}. Every rank computes the gradient of the whole batch, so no reduction order enters and
     * any number of ranks must give the same bits.
     */
    private static void trainHalf(TrainingGroup group, Path dir, ScalarType dtype) throws Exception {
        TinyTraining.Mlp model = TinyTraining.mlpIn(dtype);
        try (ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(model.parameters(),
                1, CHECKPOINT_STEPS, ListVariant.TORCH_PORT, MASTER_WEIGHTS))) {
            for (int k = 0; k < CHECKPOINT_STEPS; k++) {
                if (k == CHECKPOINT_AT) {
                    opt.save(dir.resolve("master-" + dtype + ".pt"));
                    if (group.rank() == 0) {
                        TinyTraining.write(dir.resolve("master-" + dtype + "-params.txt"),
                                TinyTraining.values(model.parameters()));
                    }
                }
                stepHalf(model, opt::zeroGrad, opt::step, k, dtype);
            }
        }
        TinyTraining.write(dir.resolve("master-" + dtype + "-uninterrupted-rank" + group.rank() + ".txt"),
                TinyTraining.values(model.parameters()));
    }

    static void stepHalf(TinyTraining.Mlp model, Runnable zeroGrad, Runnable step, int k, ScalarType dtype) {
        try (PointerScope scope = new PointerScope()) {
            zeroGrad.run();
            TinyTraining.lossIn(model, k, dtype).backward();
            step.run();
        }
    }

    /** Resumes {@link #trainHalf}'s checkpoint on this launch's ranks. */
    private static void resumeHalf(TrainingGroup group, Path dir, ScalarType dtype) throws Exception {
        TinyTraining.Mlp model = TinyTraining.mlpIn(dtype);
        TinyTraining.assign(model.parameters(), TinyTraining.read(dir.resolve("master-" + dtype + "-params.txt")));
        try (ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(model.parameters(),
                1, CHECKPOINT_STEPS, ListVariant.TORCH_PORT, MASTER_WEIGHTS))) {
            opt.load(dir.resolve("master-" + dtype + ".pt"));
            for (int k = CHECKPOINT_AT; k < CHECKPOINT_STEPS; k++) {
                stepHalf(model, opt::zeroGrad, opt::step, k, dtype);
            }
        }
        TinyTraining.write(dir.resolve("master-" + dtype + "-resumed-" + group.worldSize() + "-rank" + group.rank()
                + ".txt"), TinyTraining.values(model.parameters()));
    }

    /**
     * A broadcast and an all-reduce of transposed (non-contiguous) tensors, and a ZeRO-1 checkpoint after one step
     * of two parameters of which the one rank 1 owns is transposed.
     */
    private static void noncontiguous(TrainingGroup group, Path dir) throws Exception {
        try (PointerScope scope = new PointerScope()) {
            // Rank 0 sends a transposed view, rank 1 receives into a contiguous tensor of the same shape.
            Tensor sent = group.rank() == 0 ? TinyTraining.noncontiguous(0, 2, 3)
                    : TinyTraining.noncontiguous(-100, 2, 3).contiguous();
            group.broadcast(sent, 0);
            Tensor summed = TinyTraining.noncontiguous(10 * group.rank(), 2, 3);
            group.allReduceSum(summed);
            TinyTraining.write(dir.resolve("noncontiguous-broadcast-rank" + group.rank() + ".txt"),
                    TinyTraining.values(new TensorVector(sent)));
            TinyTraining.write(dir.resolve("noncontiguous-allreduce-rank" + group.rank() + ".txt"),
                    TinyTraining.values(new TensorVector(summed)));
            List<Tensor> params = TinyTraining.noncontiguousParams();
            try (ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group, new OptimizerSpec(
                    List.of(io.github.optlist.torch.ParamGroup.of(params, TinyTraining.NONCONTIGUOUS_CONFIG)),
                    TinyTraining.NONCONTIGUOUS_STEPS, ListVariant.TASKSET, OptimizerOptions.DEFAULTS))) {
                TinyTraining.setNoncontiguousGrads(params);
                opt.step();
                opt.save(dir.resolve("zero-noncontiguous.pt"));
            }
        }
    }

    /** Both ranks all-reduce once; then rank 1 stops answering (sleeps) and rank 0 times out in the next one. */
    private static void hang() throws InterruptedException {
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.fromEnvironment(GroupSettings.Backend.GLOO,
                Duration.ofSeconds(8)))) {
            try (PointerScope scope = new PointerScope()) {
                Tensor t = org.bytedeco.pytorch.global.torch.ones(3);
                group.allReduceSum(t);
                if (group.rank() == 1) {
                    System.out.println("HANGING");
                    System.out.flush();
                    Thread.sleep(Long.MAX_VALUE);
                }
                group.allReduceSum(t);
            }
        }
    }

    /** Resumes the checkpointed ZeRO-1 run from {@code dir} on this launch's ranks. */
    private static void resume(Path dir) throws Exception {
        try (TrainingGroup group = join()) {
            int[] rows = TinyTraining.rows(group.rank(), group.worldSize());
            TinyTraining.Mlp model = new TinyTraining.Mlp(1, 8);
            TinyTraining.assign(model.parameters(), TinyTraining.read(dir.resolve("checkpoint-params.txt")));
            try (DataParallel dp = DataParallel.of(group, model.parameters());
                 ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group,
                         OptimizerSpec.forIdx(model.parameters(), 1, CHECKPOINT_STEPS, ListVariant.TORCH_PORT,
                                 OptimizerOptions.DEFAULTS))) {
                opt.load(dir.resolve("checkpoint.pt"));
                if (opt.stepCount() != CHECKPOINT_AT) {
                    throw new IllegalStateException("resumed at step " + opt.stepCount());
                }
                for (int k = CHECKPOINT_AT; k < CHECKPOINT_STEPS; k++) {
                    try (PointerScope scope = new PointerScope()) {
                        opt.zeroGrad();
                        TinyTraining.loss(model, k, rows[0], rows[1]).backward();
                        dp.averageGradients();
                        opt.step();
                    }
                }
            }
            TinyTraining.write(dir.resolve("resumed-" + group.worldSize() + "-rank" + group.rank() + ".txt"),
                    TinyTraining.values(model.parameters()));
            for (ScalarType dtype : HALF_DTYPES) {
                resumeHalf(group, dir, dtype);
            }
            group.barrier();
        }
    }

    /** Data parallel and ZeRO-1 for entry 1 under TORCH_PORT on CUDA device {@code LOCAL_RANK}, over NCCL. */
    private static void nccl(Path dir) throws Exception {
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.fromEnvironment(GroupSettings.Backend.NCCL,
                TIMEOUT))) {
            org.bytedeco.pytorch.Device device = new org.bytedeco.pytorch.Device("cuda:" + group.localRank());
            int[] rows = TinyTraining.rows(group.rank(), group.worldSize());
            for (boolean zero : new boolean[]{false, true}) {
                TinyTraining.Mlp model = new TinyTraining.Mlp(1, 8);
                model.to(device, false);
                OptimizerSpec spec = OptimizerSpec.forIdx(model.parameters(), 1, STEPS, ListVariant.TORCH_PORT,
                        OptimizerOptions.DEFAULTS);
                try (DataParallel dp = DataParallel.of(group, model.parameters());
                     NAdamWCosineDecay plain = zero ? null : NAdamWCosineDecay.of(spec);
                     ZeroRedundancyOptimizer sharded = zero ? ZeroRedundancyOptimizer.of(group, spec) : null) {
                    for (int k = 0; k < STEPS; k++) {
                        try (PointerScope scope = new PointerScope()) {
                            model.zero_grad(true);
                            TinyTraining.loss(model, k, rows[0], rows[1], device).backward();
                            dp.averageGradients();
                            if (zero) {
                                sharded.step();
                            } else {
                                plain.step();
                            }
                        }
                    }
                }
                TinyTraining.write(dir.resolve("nccl-" + (zero ? "zero" : "dp") + "-rank" + group.rank() + ".txt"),
                        TinyTraining.values(model.parameters()));
            }
            group.barrier();
        }
    }

    /** Data-parallel training in which rank 1 dies (halts) at step 2; rank 0 must fail with a clear error. */
    private static void kill(int port) {
        GroupSettings env = GroupSettings.fromEnvironment(GroupSettings.Backend.GLOO, TIMEOUT);
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo(env.masterAddr(), port, env.rank(),
                env.worldSize(), TIMEOUT))) {
            int[] rows = TinyTraining.rows(group.rank(), group.worldSize());
            TinyTraining.Mlp model = new TinyTraining.Mlp(1, 8);
            try (DataParallel dp = DataParallel.of(group, model.parameters());
                 NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(model.parameters(), 0, 100)) {
                for (int k = 0; k < 100; k++) {
                    if (k == 2 && group.rank() == 1) {
                        System.out.println("DYING");
                        System.out.flush();
                        Runtime.getRuntime().halt(9);
                    }
                    try (PointerScope scope = new PointerScope()) {
                        opt.zeroGrad();
                        TinyTraining.loss(model, k, rows[0], rows[1]).backward();
                        dp.averageGradients();
                        opt.step();
                    }
                }
            }
        }
    }

    /**
     * Rank 1 first claims a world size of 3 (both ranks must refuse to join), then both join a good group on
     * {@code secondPort} and rank 1 builds a model of another shape (both must refuse, parameters unchanged).
     */
    private static void badInput(int secondPort) {
        GroupSettings env = GroupSettings.fromEnvironment(GroupSettings.Backend.GLOO, Duration.ofSeconds(15));
        int claimed = env.rank() == 1 ? 3 : 2;
        try {
            TrainingGroup.join(GroupSettings.gloo(env.masterAddr(), env.masterPort(), env.rank(), claimed,
                    env.timeout()));
            System.out.println("JOINED DESPITE MISMATCH");
            return;
        } catch (DistributedException e) {
            System.out.println("WORLD: " + e.getMessage());
        }
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo(env.masterAddr(), secondPort, env.rank(),
                2, env.timeout()))) {
            TinyTraining.Mlp model = new TinyTraining.Mlp(1 + group.rank(), group.rank() == 1 ? 9 : 8);
            double[] before = TinyTraining.values(model.parameters());
            try {
                DataParallel.of(group, model.parameters()).close();
                System.out.println("DP DESPITE MISMATCH");
            } catch (DistributedException e) {
                System.out.println("SHAPES: " + e.getMessage());
            }
            try {
                ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(model.parameters(), 0, 10, ListVariant.TASKSET,
                        OptimizerOptions.DEFAULTS)).close();
                System.out.println("ZERO DESPITE MISMATCH");
            } catch (DistributedException e) {
                System.out.println("ZERO SHAPES: " + e.getMessage());
            }
            System.out.println(Arrays.equals(before, TinyTraining.values(model.parameters()))
                    ? "UNCHANGED" : "CHANGED");
            group.barrier();
        }
    }
}
