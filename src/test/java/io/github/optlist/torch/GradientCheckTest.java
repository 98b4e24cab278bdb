package io.github.optlist.torch;

import io.github.optlist.ChildProcess;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static io.github.optlist.torch.BadInputTest.assertRefused;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** step() checks every gradient against its parameter before it changes anything, on every update path. */
class GradientCheckTest {

    final NAdamWConfig entry = OptList.config(0);

    /** Everything a step may change, copied to the host: parameters, moments and step counts. */
    record Snapshot(List<double[]> values, long stepCount, List<Long> paramSteps) {

        static Snapshot of(NAdamWCosineDecay opt, Tensor... params) {
            List<double[]> values = new ArrayList<>();
            List<Long> steps = new ArrayList<>();
            for (Tensor p : params) {
                values.add(TestTensors.values(p));
                OptimizerState.Param state = opt.stateDict(p);
                if (state.hasMoments()) {
                    values.add(TestTensors.values(state.expAvg()));
                    values.add(TestTensors.values(state.expAvgSq()));
                }
                steps.add(state.step());
            }
            return new Snapshot(values, opt.stepCount(), steps);
        }

        void assertSameAs(Snapshot before) {
            assertEquals(before.values.size(), values.size());
            for (int i = 0; i < values.size(); i++) {
                assertArrayEquals(before.values.get(i), values.get(i), "tensor " + i + " changed");
            }
            assertEquals(before.stepCount, stepCount);
            assertEquals(before.paramSteps, paramSteps);
        }
    }

    static Tensor floatParam(long... shape) {
        return randn(shape).detach().set_requires_grad(true);
    }

    static void putGrad(Tensor p, long... shape) {
        p.mutable_grad().put(randn(shape));
    }

    @ParameterizedTest
    @EnumSource(UpdatePath.class)
    void gradientOfAnotherShapeIsRefusedLeavingParametersMomentsAndStepCountsAsTheyWere(UpdatePath path) {
        Tensor a = floatParam(8);
        Tensor b = floatParam(2, 3);
        try (var opt = TestTensors.optimizer(new TensorVector(a, b), entry, 100, path)) {
            putGrad(a, 8);
            putGrad(b, 2, 3);
            opt.step();
            Snapshot before = Snapshot.of(opt, a, b);
            for (long[] wrong : new long[][]{{6}, {3, 2}, {10}, {2, 3, 1}, {}}) {
                putGrad(a, 8);
                putGrad(b, wrong);
                assertRefused(opt::step, "params[1] of group 0 has shape [2, 3] but its gradient "
                        + java.util.Arrays.toString(wrong));
                Snapshot.of(opt, a, b).assertSameAs(before);
            }
            putGrad(b, 2, 3);
            opt.step();
            assertEquals(2, opt.stepCount(b), "a fitting gradient is taken again");
        }
    }

    @ParameterizedTest
    @EnumSource(UpdatePath.class)
    void gradientOfAnotherShapeIsRefusedBeforeTheFirstUpdate(UpdatePath path) {
        Tensor p = floatParam(1000);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 100, path)) {
            double[] before = TestTensors.values(p);
            putGrad(p, 10);
            assertRefused(opt::step, "params[0] of group 0 has shape [1000] but its gradient [10]");
            assertArrayEquals(before, TestTensors.values(p));
            assertEquals(0, opt.stepCount());
            assertEquals(0, opt.stepCount(p));
            assertTrue(!opt.stateDict(p).hasMoments(), "no state was created");
        }
    }

    @Test
    void gradientThatIsNotFloatingPointIsRefused() {
        Tensor p = floatParam(3);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 100)) {
            double[] before = TestTensors.values(p);
            p.mutable_grad().put(Tensor.create(new long[]{1, 2, 3}, 3));
            assertRefused(opt::step, "params[0] of group 0 has dtype Float but its gradient Long", "floating point");
            assertArrayEquals(before, TestTensors.values(p));
            assertEquals(0, opt.stepCount(p));
        }
    }

    @ParameterizedTest
    @EnumSource(UpdatePath.class)
    void gradientOfAnotherFloatingPointDtypeIsTakenAsDocumented(UpdatePath path) {
        Tensor p = floatParam(3);
        Tensor twin = new Tensor(p.detach().clone()).set_requires_grad(true);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 100, path);
             var reference = TestTensors.optimizer(new TensorVector(twin), entry, 100, UpdatePath.SINGLE_TENSOR)) {
            p.mutable_grad().put(Tensor.create(new double[]{0.5, -1, 2}, 3));
            twin.mutable_grad().put(Tensor.create(new double[]{0.5, -1, 2}, 3).to(ScalarType.Float));
            opt.step();
            reference.step();
            double[] expected = TestTensors.values(twin);
            double[] actual = TestTensors.values(p);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], actual[i], 1e-6, "element " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(UpdatePath.class)
    void expandedGradientIsReadAsTheValuesItShows(UpdatePath path) {
        Tensor p = floatParam(2, 3);
        Tensor twin = new Tensor(p.detach().clone()).set_requires_grad(true);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 100, path);
             var reference = TestTensors.optimizer(new TensorVector(twin), entry, 100, path)) {
            Tensor row = Tensor.create(new float[]{0.5f, -1, 2}, 1, 3);
            p.mutable_grad().put(row.expand(2, 3));
            twin.mutable_grad().put(row.expand(2, 3).contiguous());
            opt.step();
            reference.step();
            assertArrayEquals(TestTensors.values(twin), TestTensors.values(p));
        }
    }

    @ParameterizedTest
    @EnumSource(UpdatePath.class)
    void parameterResizedAfterItsFirstUpdateIsRefused(UpdatePath path) {
        Tensor p = floatParam(3);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 100, path)) {
            putGrad(p, 3);
            opt.step();
            p.set_data(randn(5));
            Snapshot before = Snapshot.of(opt, p);
            putGrad(p, 5);
            assertRefused(opt::step, "params[0] of group 0 has shape [5] but its state was made for [3]");
            Snapshot.of(opt, p).assertSameAs(before);
        }
    }

    /**
     * A gradient smaller than its parameter made the fused CPU kernel read past its end: the JVM died of SIGSEGV in
     * {@code adam_fused_step_impl}. Run in a child JVM so that a crash fails this test instead of the suite.
     */
    @Test
    void smallerGradientOnTheFusedPathIsRefusedInsteadOfCrashingTheJvm() throws IOException, InterruptedException {
        ChildProcess child = ChildProcess.java(WrongSizeGradientChild.class);
        String output = child.output();
        assertEquals(0, child.exitCode(), "the child JVM failed (exit " + child.exitCode() + "): " + output);
        assertTrue(output.contains("refused: params[0] of group 0 has shape [1000] but its gradient [10]"), output);
    }
}
