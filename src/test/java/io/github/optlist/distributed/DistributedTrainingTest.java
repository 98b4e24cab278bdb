package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.ParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two ranks on loopback (Gloo), each a JVM started by {@link Launcher} running {@link DistributedWorker}, against
 * single-process references computed here. One launch trains every data-parallel and ZeRO-1 case and writes a
 * checkpoint; a second resumes it; a third runs the failure cases.
 */
class DistributedTrainingTest {

    /** Float32 parameters after a few Adam steps from two reduction orders: rounding, not a difference in math. */
    private static final double TOLERANCE = 2e-6;

    @TempDir
    static Path dir;

    private static Launcher.Result trained;
    private static final List<String> trainOutput = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void trainOnTwoRanks() {
        trained = launch(trainOutput, "train", dir.toString());
    }

    static Launcher.Result launch(List<String> output, String... args) {
        return launch(2, output, args);
    }

    static Launcher.Result launch(int nproc, List<String> output, String... args) {
        Launcher.Settings settings = new Launcher.Settings(nproc, 0, System.getProperty("java.class.path"),
                DistributedWorker.class.getName(), List.of(args), List.of("-Xmx256m", "-XX:TieredStopAtLevel=1"),
                Map.of(), false, Duration.ofSeconds(150));
        Launcher.Result result = Launcher.run(settings, output::add);
        assertTrue(ProcessHandle.current().descendants().noneMatch(ProcessHandle::isAlive),
                "a rank JVM outlived the launch");
        return result;
    }

    private static void requireTrained() {
        assertEquals(List.of(0, 0), trained.rankCodes(), () -> String.join("\n", trainOutput));
    }

    @Test
    void dataParallelOnBatchHalvesEqualsOneProcessOnWholeBatches() throws Exception {
        requireTrained();
        for (ListVariant variant : ListVariant.values()) {
            for (int idx : DistributedWorker.ENTRIES) {
                double[] expected = TinyTraining.singleProcess(idx, variant, DistributedWorker.STEPS,
                        DistributedWorker.STEPS);
                for (int rank = 0; rank < 2; rank++) {
                    double[] actual = TinyTraining.read(dir.resolve("dp-" + variant + "-" + idx + "-rank" + rank
                            + ".txt"));
                    assertArrayEquals(expected, actual, TOLERANCE, variant + " entry " + idx + " rank " + rank);
                }
            }
        }
    }

    @Test
    void everyRankEndsWithTheSameParameters() throws Exception {
        requireTrained();
        for (String name : List.of("dp-TASKSET-0", "dp-TORCH_PORT-1", "zero-TASKSET-1", "zero-TORCH_PORT-1",
                "uninterrupted")) {
            assertArrayEquals(TinyTraining.read(dir.resolve(name + "-rank0.txt")),
                    TinyTraining.read(dir.resolve(name + "-rank1.txt")), 0.0, name);
        }
    }

    @Test
    void zeroOneGivesTheParametersOfUnshardedDataParallel() throws Exception {
        requireTrained();
        for (ListVariant variant : ListVariant.values()) {
            assertArrayEquals(TinyTraining.read(dir.resolve("dp-" + variant + "-1-rank0.txt")),
                    TinyTraining.read(dir.resolve("zero-" + variant + "-1-rank0.txt")), 0.0, variant.toString());
        }
    }

    @Test
    void zeroOneKeepsAboutHalfTheMomentsOnEachOfTwoRanks() throws Exception {
        requireTrained();
        // MLP 3-8-2: 24 + 8 + 16 + 2 = 50 float parameters, two moments each: 400 bytes unsharded. Greedy by size:
        // rank 0 gets fc1.weight (24) and fc2.bias (2), rank 1 fc2.weight (16) and fc1.bias (8).
        double rank0 = TinyTraining.read(dir.resolve("zero-TASKSET-moments-rank0.txt"))[0];
        double rank1 = TinyTraining.read(dir.resolve("zero-TASKSET-moments-rank1.txt"))[0];
        assertEquals(2 * 4 * 26, rank0);
        assertEquals(2 * 4 * 24, rank1);
    }

    @Test
    void checkpointOfTwoRanksResumesInOneProcessAsTheUninterruptedRun() throws Exception {
        requireTrained();
        double[] uninterrupted = TinyTraining.read(dir.resolve("uninterrupted-rank0.txt"));
        TinyTraining.Mlp model = new TinyTraining.Mlp(1, 8);
        TinyTraining.assign(model.parameters(), TinyTraining.read(dir.resolve("checkpoint-params.txt")));
        try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(model.parameters(), 1,
                DistributedWorker.CHECKPOINT_STEPS, ListVariant.TORCH_PORT, OptimizerOptions.DEFAULTS))) {
            opt.load(dir.resolve("checkpoint.pt"));
            assertEquals(DistributedWorker.CHECKPOINT_AT, opt.stepCount());
            TinyTraining.trainSingle(model, opt, DistributedWorker.CHECKPOINT_AT, DistributedWorker.CHECKPOINT_STEPS);
        }
        assertArrayEquals(uninterrupted, TinyTraining.values(model.parameters()), TOLERANCE);
    }

    @Test
    void checkpointOfTwoRanksResumesOnTwoRanksAsTheUninterruptedRun() throws Exception {
        requireTrained();
        resumeOn(2);
        double[] uninterrupted = TinyTraining.read(dir.resolve("uninterrupted-rank0.txt"));
        for (int rank = 0; rank < 2; rank++) {
            assertArrayEquals(uninterrupted, TinyTraining.read(dir.resolve("resumed-2-rank" + rank + ".txt")), 0.0);
        }
    }

    @Test
    void checkpointOfTwoRanksResumesOnThreeRanksAsTheUninterruptedRun() throws Exception {
        requireTrained();
        // Three ranks own other parameters than two did (fc1.weight, fc2.weight, then fc1.bias and fc2.bias).
        resumeOn(3);
        double[] uninterrupted = TinyTraining.read(dir.resolve("uninterrupted-rank0.txt"));
        for (int rank = 0; rank < 3; rank++) {
            // Three slices of the batch reduce in another order than two: rounding only.
            assertArrayEquals(uninterrupted, TinyTraining.read(dir.resolve("resumed-3-rank" + rank + ".txt")),
                    TOLERANCE);
        }
    }

    @Test
    void masterWeightsCheckpointOfTwoRanksResumesOnOneTwoAndThreeRanksBitForBit() throws Exception {
        requireTrained();
        resumeOn(2);
        resumeOn(3);
        for (var dtype : DistributedWorker.HALF_DTYPES) {
            double[] uninterrupted = TinyTraining.read(dir.resolve("master-" + dtype + "-uninterrupted-rank0.txt"));
            assertArrayEquals(uninterrupted, TinyTraining.read(dir.resolve("master-" + dtype
                    + "-uninterrupted-rank1.txt")), 0.0, dtype + ": both ranks");
            TinyTraining.Mlp model = TinyTraining.mlpIn(dtype);
            TinyTraining.assign(model.parameters(), TinyTraining.read(dir.resolve("master-" + dtype + "-params.txt")));
            try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(model.parameters(), 1,
                    DistributedWorker.CHECKPOINT_STEPS, ListVariant.TORCH_PORT, DistributedWorker.MASTER_WEIGHTS))) {
                opt.load(dir.resolve("master-" + dtype + ".pt"));
                for (int k = DistributedWorker.CHECKPOINT_AT; k < DistributedWorker.CHECKPOINT_STEPS; k++) {
                    DistributedWorker.stepHalf(model, opt::zeroGrad, opt::step, k, dtype);
                }
            }
            assertArrayEquals(uninterrupted, TinyTraining.values(model.parameters()), 0.0, dtype + " on 1 rank");
            for (int world = 2; world <= 3; world++) {
                for (int rank = 0; rank < world; rank++) {
                    assertArrayEquals(uninterrupted, TinyTraining.read(dir.resolve("master-" + dtype + "-resumed-"
                            + world + "-rank" + rank + ".txt")), 0.0, dtype + " on " + world + " ranks, rank " + rank);
                }
            }
        }
    }

    @Test
    void masterWeightsAreWhatTheCheckpointCarries() throws Exception {
        requireTrained();
        // Resuming from the half-precision parameters alone (a fresh master copy) must give other bits: otherwise the
        // test above could not tell whether the master copies travelled.
        for (var dtype : DistributedWorker.HALF_DTYPES) {
            double[] uninterrupted = TinyTraining.read(dir.resolve("master-" + dtype + "-uninterrupted-rank0.txt"));
            TinyTraining.Mlp model = TinyTraining.mlpIn(dtype);
            TinyTraining.assign(model.parameters(), TinyTraining.read(dir.resolve("master-" + dtype + "-params.txt")));
            try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(model.parameters(), 1,
                    DistributedWorker.CHECKPOINT_STEPS, ListVariant.TORCH_PORT, DistributedWorker.MASTER_WEIGHTS));
                 org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
                opt.load(dir.resolve("master-" + dtype + ".pt"));
                for (var param : opt.paramGroups().get(0).params()) {
                    var saved = opt.stateDict(param);
                    opt.loadStateDict(param, new io.github.optlist.torch.OptimizerState.Param(saved.step(),
                            saved.expAvg(),
                            saved.expAvgSq()));
                }
                for (int k = DistributedWorker.CHECKPOINT_AT; k < DistributedWorker.CHECKPOINT_STEPS; k++) {
                    DistributedWorker.stepHalf(model, opt::zeroGrad, opt::step, k, dtype);
                }
            }
            assertTrue(!java.util.Arrays.equals(uninterrupted, TinyTraining.values(model.parameters())),
                    dtype + ": a fresh master copy must change the result");
        }
    }

    /** The world sizes already resumed on: one launch each serves every test that reads its files. */
    private static final java.util.Set<Integer> resumedOn = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static synchronized void resumeOn(int nproc) {
        if (!resumedOn.add(nproc)) {
            return;
        }
        List<String> output = Collections.synchronizedList(new ArrayList<>());
        Launcher.Result resumed = launch(nproc, output, "resume", dir.toString());
        assertEquals(Collections.nCopies(nproc, 0), resumed.rankCodes(), () -> String.join("\n", output));
    }

    @Test
    void zeroOneScaledStepSkipsOnEveryRankForAnInfOnOneRankThenEqualsTheUnshardedScaledStep() throws Exception {
        requireTrained();
        int infinite = (int) TinyTraining.read(dir.resolve("scaled-infinite-param.txt"))[0];
        // The unsharded optimizer on the same (whole-batch, scaled) gradients: the reference for both attempts.
        TinyTraining.Mlp model = new TinyTraining.Mlp(1, 8);
        double[] start = TinyTraining.values(model.parameters());
        double[] expected;
        try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(model.parameters(), 1,
                DistributedWorker.STEPS, ListVariant.TORCH_PORT, OptimizerOptions.DEFAULTS))) {
            DistributedWorker.scaledBackward(model, 0);
            DistributedWorker.makeInfinite(model, infinite);
            assertFalse(opt.scaledStep(DistributedWorker.LOSS_SCALE), "the reference skips too");
            opt.zeroGrad();
            DistributedWorker.scaledBackward(model, 1);
            assertTrue(opt.scaledStep(DistributedWorker.LOSS_SCALE));
            expected = DistributedWorker.attempt(true, 1, model);
        }
        double[] skipped = new double[start.length + 2];
        System.arraycopy(start, 0, skipped, 2, start.length);
        for (int rank = 0; rank < 2; rank++) {
            assertArrayEquals(start, TinyTraining.read(dir.resolve("scaled-before-rank" + rank + ".txt")), 0.0,
                    "rank " + rank + " started from the reference's parameters");
            // Not run, step count 0, parameters unchanged: rank 0's own gradients were finite.
            assertArrayEquals(skipped, TinyTraining.read(dir.resolve("scaled-skip-rank" + rank + ".txt")), 0.0,
                    "rank " + rank + " after the infinite gradient on rank 1");
            assertArrayEquals(expected, TinyTraining.read(dir.resolve("scaled-step-rank" + rank + ".txt")), 0.0,
                    "rank " + rank + " after the finite scaled step");
        }
    }

    @Test
    void nonContiguousTensorsAreBroadcastAndSummedInTheirLogicalOrder() throws Exception {
        requireTrained();
        // [[0, 1, 2], [3, 4, 5]] transposed, read row by row; rank 1's own values (-100...) are overwritten.
        double[] broadcast = {0, 3, 1, 4, 2, 5};
        // The same from both ranks, rank 1's shifted by 10: 2x + 10.
        double[] summed = {10, 16, 12, 18, 14, 20};
        for (int rank = 0; rank < 2; rank++) {
            assertArrayEquals(broadcast, TinyTraining.read(dir.resolve("noncontiguous-broadcast-rank" + rank
                    + ".txt")), 0.0, "broadcast rank " + rank);
            assertArrayEquals(summed, TinyTraining.read(dir.resolve("noncontiguous-allreduce-rank" + rank
                    + ".txt")), 0.0, "all-reduce rank " + rank);
        }
    }

    @Test
    void zeroOneCheckpointHoldsTheMomentsOfANonContiguousParameterInOrder() throws Exception {
        requireTrained();
        List<Tensor> reference = TinyTraining.noncontiguousParams();
        List<Tensor> restored = TinyTraining.noncontiguousParams();
        try (NAdamWCosineDecay one = NAdamWCosineDecay.of(new OptimizerSpec(List.of(ParamGroup.of(reference,
                TinyTraining.NONCONTIGUOUS_CONFIG)), TinyTraining.NONCONTIGUOUS_STEPS, ListVariant.TASKSET,
                        OptimizerOptions.DEFAULTS));
             NAdamWCosineDecay loaded = NAdamWCosineDecay.of(new OptimizerSpec(List.of(ParamGroup.of(restored,
                     TinyTraining.NONCONTIGUOUS_CONFIG)), TinyTraining.NONCONTIGUOUS_STEPS, ListVariant.TASKSET,
                             OptimizerOptions.DEFAULTS))) {
            TinyTraining.setNoncontiguousGrads(reference);
            one.step();
            loaded.load(dir.resolve("zero-noncontiguous.pt"));
            for (int i = 0; i < 2; i++) {
                var expected = one.stateDict(reference.get(i));
                var actual = loaded.stateDict(restored.get(i));
                assertArrayEquals(TinyTraining.values(new TensorVector(expected.expAvg())),
                        TinyTraining.values(new TensorVector(actual.expAvg())), 0.0, "exp_avg of param " + i);
                assertArrayEquals(TinyTraining.values(new TensorVector(expected.expAvgSq())),
                        TinyTraining.values(new TensorVector(actual.expAvgSq())), 0.0, "exp_avg_sq of param " + i);
            }
        }
    }

    @Test
    void aRankThatStopsAnsweringIsNamedRatherThanTheRankThatTimedOut() {
        List<String> output = Collections.synchronizedList(new ArrayList<>());
        Launcher.Settings settings = new Launcher.Settings(2, 0, System.getProperty("java.class.path"),
                DistributedWorker.class.getName(), List.of("hang"), List.of("-Xmx256m", "-XX:TieredStopAtLevel=1"),
                Map.of(), true, Duration.ofSeconds(120));
        Launcher.Result result = Launcher.run(settings, output::add);
        String all = String.join("\n", output);
        assertTrue(ProcessHandle.current().descendants().noneMatch(ProcessHandle::isAlive), all);
        assertEquals(0, result.firstFailedRank(), all);
        assertEquals(3, result.exitCode(), all);
        assertEquals(List.of(1), result.unresponsiveRanks(), all);
        assertTrue(output.stream().anyMatch(line -> line.startsWith("[rank 0] CAUGHT: rank 0 of 2: allReduceSum failed")
                && line.endsWith("; rank 1 did not report this failure within 5 s: stopped answering (hung, stopped"
                + " or far behind)")), all);
        assertEquals("rank 1 stopped answering: rank 0 timed out waiting for it and exited with code 3; every rank"
                + " was stopped", result.summary(true));
    }

    @Test
    void badInputAndAKilledRankFailWithClearErrorsAndLeaveNoJvm() {
        List<String> output = Collections.synchronizedList(new ArrayList<>());
        Launcher.Result result = launch(output, "failures", Integer.toString(Launcher.freePort()),
                Integer.toString(Launcher.freePort()));
        String all = String.join("\n", output);
        // Rank 1 halted with 9 in the kill case; rank 0 caught the failure and exited with 3.
        assertEquals(List.of(3, 9), result.rankCodes(), all);
        for (int rank = 0; rank < 2; rank++) {
            String prefix = "[rank " + rank + "] ";
            assertTrue(output.contains(prefix + "WORLD: ranks disagree on the world size: rank 0 has 2, rank 1 has 3"
                    + " (check WORLD_SIZE on every rank)"), all);
            assertTrue(output.stream().anyMatch(line -> line.startsWith(prefix
                    + "SHAPES: ranks disagree on the shape or dtype of params[0]")), all);
            assertTrue(output.stream().anyMatch(line -> line.startsWith(prefix
                    + "ZERO SHAPES: ranks disagree on the shape or dtype of params[0]")), all);
            assertTrue(output.contains(prefix + "UNCHANGED"), all);
        }
        assertTrue(output.stream().anyMatch(line -> line.startsWith("[rank 0] CAUGHT: rank 0 of 2: ")
                && line.contains("failed (a rank stopped, crashed or is out of step")), all);
    }
}
