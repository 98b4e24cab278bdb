package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.ReferenceNAdamW;
import io.github.optlist.internal.DeviceDtype;
import io.github.optlist.internal.NativeMemory;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A parameter moved to another device or cast to another dtype after its first update ({@code model.to(...)}, which
 * keeps the parameter tensor and replaces its data) takes its state along: moved and cast once, then the update goes
 * on from the same moments. The meta device, which holds no data, stands in for a GPU.
 */
class ParameterMoveTest {

    static final long T = 20;

    static NAdamWCosineDecay optimizer(Tensor p, NAdamWConfig config) {
        return TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), config)), T, ListVariant.TASKSET);
    }

    /** A gradient whose values float32 holds exactly, so that both runs see the same one. */
    static double[] float32Gradient(Random random, int n) {
        double[] g = TestTensors.gaussian(random, n, 1.0);
        for (int i = 0; i < n; i++) {
            g[i] = (float) g[i];
        }
        return g;
    }

    @Test
    void stateFollowsAParameterCastToAnotherDtypeAndTheUpdateGoesOn() {
        NAdamWConfig config = OptList.config(1);
        Random random = new Random(21);
        double[] start = new double[16];
        for (int i = 0; i < start.length; i++) {
            start[i] = (float) random.nextGaussian();
        }
        Tensor p = TestTensors.param(start, 16);
        ReferenceNAdamW reference = new ReferenceNAdamW(config, T, ListVariant.TASKSET, start);
        try (var opt = optimizer(p, config)) {
            for (int step = 0; step < 8; step++) {
                if (step == 3) {
                    p.set_data(p.detach().to(ScalarType.Float));
                }
                double[] g = float32Gradient(random, 16);
                TestTensors.setGrad(p, g);
                opt.step();
                reference.step(g);
            }
            UpdatePath.Report last = opt.lastStepUpdates().get(0);
            assertEquals("Float", last.dtype());
            assertEquals("Float", last.stateDtype());
            assertEquals(UpdatePath.FUSED, last.path(), last.fallbackReason());
            assertEquals(8, opt.stepCount(p));
        }
        double[] expected = reference.params();
        double[] actual = TestTensors.values(p);
        double moved = 0;
        double error = 0;
        for (int i = 0; i < expected.length; i++) {
            moved = Math.max(moved, Math.abs(expected[i] - start[i]));
            error = Math.max(error, Math.abs(actual[i] - expected[i]));
        }
        // Restarting the moments would put it a sizeable fraction of the movement away; float32 rounding does not.
        assertTrue(error <= 1e-4 * moved, "error " + error + " against a movement of " + moved);
    }

    /**
     * A parameter on the meta device whose state was left on the CPU, as {@code model.to(device)} after the first
     * step leaves it. LibTorch cannot move a CPU tensor's data to meta in place ({@code set_data} refuses), so the
     * test puts the state there itself: made for the parameter, then replaced by CPU moments recorded as the CPU's.
     */
    static Tensor metaParameterWithStateOnCpu(NAdamWCosineDecay opt, Tensor cpuTwin) {
        Tensor p = opt.paramGroups().get(0).params().get(0);
        try (var scope = new org.bytedeco.javacpp.PointerScope();
             var noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            ParamState state = opt.stateOf(p);
            state.initialize(StatePrecision.FLOAT32);
            NativeMemory.release(state.expAvg);
            NativeMemory.release(state.expAvgSq);
            state.expAvg = NativeMemory.outliveScope(cpuTwin.detach().clone().zero_());
            state.expAvgSq = NativeMemory.outliveScope(cpuTwin.detach().clone().zero_());
            StateLayout made = state.layout();
            state.setLayout(new StateLayout(DeviceDtype.of(cpuTwin), "cpu", made.stateDtype(), made.shape(),
                    made.strides(), made.dense()));
            state.step = 2;
        }
        return p;
    }

    @Test
    void stateFollowsAParameterMovedToAnotherDevice() {
        Tensor cpu = TestTensors.param(new double[]{1, -2, 3, 0.5}, 4).to(ScalarType.Float).detach();
        Tensor meta = cpu.to(new Device("meta"), ScalarType.Float).detach().set_requires_grad(true);
        try (var opt = optimizer(meta, OptList.config(0))) {
            Tensor p = metaParameterWithStateOnCpu(opt, cpu);
            p.mutable_grad().put(p.detach().clone());
            opt.step();
            assertEquals(3, opt.stepCount(p));
            assertTrue(opt.stateOf(p).expAvg.is_meta(), "the first moment moved to the parameter's device");
            assertTrue(opt.stateOf(p).expAvgSq.is_meta(), "the second moment moved to the parameter's device");
            UpdatePath.Report last = opt.lastStepUpdates().get(0);
            assertEquals("meta", last.device());
            assertEquals(UpdatePath.MULTI_TENSOR, last.path());
            assertTrue(last.fallbackReason().contains("params[0] of group 0 is on meta"), last.fallbackReason());
        }
    }

    @Test
    void gradientLeftBehindIsRefusedNamingWhereEachIs() {
        Tensor cpu = TestTensors.param(new double[]{1, 2, 3}, 3).detach();
        Tensor meta = cpu.to(new Device("meta"), ScalarType.Double).detach().set_requires_grad(true);
        try (var opt = optimizer(meta, OptList.config(0))) {
            Tensor p = metaParameterWithStateOnCpu(opt, cpu);
            p.mutable_grad().put(Tensor.create(new double[]{1, 1, 1}, 3));
            var e = assertThrows(IllegalArgumentException.class, opt::step);
            assertEquals("params[0] of group 0 is on meta but its gradient is on cpu", e.getMessage());
            assertEquals(2, opt.stepCount(p));
            assertTrue(opt.stateOf(p).expAvg.is_cpu(), "a refused step moves nothing");
        }
    }

    @Test
    void masterCopyIsDroppedWhenTheParameterLeavesHalfPrecisionAndTakenWhenItReturns() {
        Tensor p = Tensor.create(new double[]{0.5, -0.25, 0.125}, 3).to(ScalarType.BFloat16).detach()
                .set_requires_grad(true);
        try (var opt = TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), OptList.config(0))), T,
                ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS.withStatePrecision(StatePrecision.FLOAT32_MASTER_WEIGHTS))) {
            TestTensors.setGrad(p, new double[]{1, 1, 1});
            opt.step();
            p.set_data(p.detach().to(ScalarType.Float));
            double[] before = TestTensors.values(p);
            TestTensors.setGrad(p, new double[]{1, 1, 1});
            opt.step();
            assertEquals("Float", opt.lastStepUpdates().get(0).stateDtype());
            double[] after = TestTensors.values(p);
            for (int i = 0; i < 3; i++) {
                assertTrue(after[i] < before[i], "a positive gradient moves element " + i + " down");
            }
            p.set_data(p.detach().to(ScalarType.BFloat16));
            TestTensors.setGrad(p, new double[]{1, 1, 1});
            opt.step();
            assertEquals("BFloat16", opt.lastStepUpdates().get(0).dtype());
            assertEquals("Float", opt.lastStepUpdates().get(0).stateDtype());
            assertEquals(3, opt.stepCount(p));
        }
    }

    @Test
    void savingAfterAMoveWritesTheStateAsTheParameterNowIs() throws Exception {
        Tensor p = TestTensors.param(new double[]{1, 2, 3}, 3);
        java.nio.file.Path file = java.nio.file.Files.createTempFile("moved", ".ckpt");
        try (var opt = optimizer(p, OptList.config(0))) {
            TestTensors.setGrad(p, new double[]{1, 1, 1});
            opt.step();
            p.set_data(p.detach().to(ScalarType.Float));
            opt.save(file);
        }
        Tensor q = TestTensors.param(TestTensors.values(p), 3).to(ScalarType.Float).detach().set_requires_grad(true);
        try (var opt = optimizer(q, OptList.config(0))) {
            opt.load(file);
            assertEquals(1, opt.stepCount(q));
            TestTensors.setGrad(q, new double[]{1, 1, 1});
            opt.step();
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
        assertArrayEquals(new long[]{3}, q.shape());
    }
}
