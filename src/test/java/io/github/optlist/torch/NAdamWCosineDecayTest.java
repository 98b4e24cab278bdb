package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.ReferenceNAdamW;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static io.github.optlist.torch.NAdamWReferenceTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NAdamWCosineDecayTest {

    final Random random = new Random(7);
    final NAdamWConfig entry = OptList.config(2); // warm-up, decoupled decay and a floor

    Tensor param(int n) {
        return TestTensors.param(TestTensors.gaussian(random, n, 1.0), n);
    }

    @Test
    void groupsUseTheirOwnConfigurations() {
        NAdamWConfig noDecay = TestTensors.withoutDecay(entry);
        double[] w0 = TestTensors.gaussian(random, 5, 1.0);
        double[] b0 = TestTensors.gaussian(random, 3, 1.0);
        Tensor w = TestTensors.param(w0, 5);
        Tensor b = TestTensors.param(b0, 3);
        ReferenceNAdamW refW = new ReferenceNAdamW(entry, 10, ListVariant.TASKSET, w0);
        ReferenceNAdamW refB = new ReferenceNAdamW(noDecay, 10, ListVariant.TASKSET, b0);
        try (var opt = TestTensors.optimizer(List.of(ParamGroup.of(List.of(w), entry),
                ParamGroup.of(List.of(b), noDecay)), 10, ListVariant.TASKSET)) {
            for (int i = 0; i < 5; i++) {
                double[] gw = TestTensors.gaussian(random, 5, 1.0);
                double[] gb = TestTensors.gaussian(random, 3, 1.0);
                TestTensors.setGrad(w, gw);
                TestTensors.setGrad(b, gb);
                opt.step();
                refW.step(gw);
                refB.step(gb);
            }
            assertEquals(2, opt.paramGroups().size());
            assertSame(noDecay, opt.paramGroups().get(1).config());
        }
        assertClose(refW.params(), TestTensors.values(w), "weights");
        assertClose(refB.params(), TestTensors.values(b), "biases");
    }

    @Test
    void groupAddedLaterStartsItsScheduleAtStepZero() {
        Tensor a = param(4);
        double[] b0 = TestTensors.gaussian(random, 4, 1.0);
        Tensor b = TestTensors.param(b0, 4);
        ReferenceNAdamW refB = new ReferenceNAdamW(entry, 10, ListVariant.TASKSET, b0);
        try (var opt = TestTensors.optimizer(new TensorVector(a), entry, 10)) {
            for (int i = 0; i < 3; i++) {
                TestTensors.setGrad(a, TestTensors.gaussian(random, 4, 1.0));
                opt.step();
            }
            opt.addParamGroup(ParamGroup.of(List.of(b), entry));
            for (int i = 0; i < 2; i++) {
                TestTensors.setGrad(a, TestTensors.gaussian(random, 4, 1.0));
                double[] gb = TestTensors.gaussian(random, 4, 1.0);
                TestTensors.setGrad(b, gb);
                opt.step();
                refB.step(gb);
            }
            assertEquals(5, opt.stepCount(a));
            assertEquals(2, opt.stepCount(b));
            assertEquals(5, opt.stepCount());
        }
        assertClose(refB.params(), TestTensors.values(b), "late group");
    }

    @Test
    void parameterWithoutGradientIsUnchangedAndItsStepCountStays() {
        Tensor a = param(4);
        Tensor frozen = param(3);
        double[] before = TestTensors.values(frozen);
        try (var opt = TestTensors.optimizer(new TensorVector(a, frozen), entry, 10)) {
            for (int i = 0; i < 3; i++) {
                opt.zeroGrad();
                TestTensors.setGrad(a, TestTensors.gaussian(random, 4, 1.0));
                opt.step();
            }
            assertArrayEquals(before, TestTensors.values(frozen));
            assertEquals(0, opt.stepCount(frozen));
            assertEquals(3, opt.stepCount(a));
        }
    }

    @Test
    void skippedStepsDoNotAdvanceTheSchedule() {
        double[] p0 = TestTensors.gaussian(random, 4, 1.0);
        Tensor p = TestTensors.param(p0, 4);
        Tensor other = param(2);
        ReferenceNAdamW ref = new ReferenceNAdamW(entry, 6, ListVariant.TASKSET, p0);
        try (var opt = TestTensors.optimizer(new TensorVector(p, other), entry, 6)) {
            for (int i = 0; i < 6; i++) {
                opt.zeroGrad();
                TestTensors.setGrad(other, TestTensors.gaussian(random, 2, 1.0));
                if (i % 2 == 0) {
                    double[] g = TestTensors.gaussian(random, 4, 1.0);
                    TestTensors.setGrad(p, g);
                    ref.step(g);
                }
                opt.step();
            }
        }
        assertClose(ref.params(), TestTensors.values(p), "parameter updated every other step");
    }

    @Test
    void closureIsEvaluatedOnceAndItsLossReturned() {
        Tensor p = param(3);
        Tensor twin = TestTensors.param(TestTensors.values(p), 3);
        AtomicInteger calls = new AtomicInteger();
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 10);
             var twinOpt = TestTensors.optimizer(new TensorVector(twin), entry, 10)) {
            Tensor loss = opt.step(() -> {
                calls.incrementAndGet();
                opt.zeroGrad();
                Tensor l = p.mul(p).sum();
                l.backward();
                return l;
            });
            assertEquals(1, calls.get());
            assertEquals(sumOfSquares(TestTensors.values(twin)), loss.item_double(), 1e-12);

            twin.mul(twin).sum().backward();
            twinOpt.step();
            assertArrayEquals(TestTensors.values(twin), TestTensors.values(p));
        }
    }

    @Test
    void closureThatThrowsChangesNothing() {
        Tensor p = param(3);
        double[] before = TestTensors.values(p);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 10)) {
            TestTensors.setGrad(p, new double[]{1, 2, 3});
            assertThrows(IllegalStateException.class, () -> opt.step(() -> {
                throw new IllegalStateException("data loader failed");
            }));
            assertArrayEquals(before, TestTensors.values(p));
            assertEquals(0, opt.stepCount());
            assertEquals(0, opt.stepCount(p));
        }
    }

    @Test
    void zeroGradSetsGradientsToNoneByDefault() {
        Tensor p = param(3);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 10)) {
            TestTensors.setGrad(p, new double[]{1, 2, 3});
            opt.zeroGrad();
            assertFalse(p.grad().defined());
        }
    }

    @Test
    void zeroGradWithoutSetToNoneFillsZeros() {
        Tensor p = param(3);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 10)) {
            p.mul(p).sum().backward();
            opt.zeroGrad(false);
            assertTrue(p.grad().defined());
            assertArrayEquals(new double[]{0, 0, 0}, TestTensors.values(p.grad()));
        }
    }

    @Test
    void learningRateAndStepCountDescribeTheNextStep() {
        Tensor p = param(3);
        try (var opt = TestTensors.forIdx(new TensorVector(p), 2, 50, ListVariant.TORCH_PORT)) {
            assertEquals(0, opt.stepCount());
            assertEquals(CosineSchedule.learningRate(OptList.config(2), 0, 50, ListVariant.TORCH_PORT),
                    opt.learningRate());
            for (int i = 0; i < 7; i++) {
                TestTensors.setGrad(p, new double[]{1, 2, 3});
                opt.step();
            }
            assertEquals(7, opt.stepCount());
            assertEquals(CosineSchedule.learningRate(OptList.config(2), 7, 50, ListVariant.TORCH_PORT),
                    opt.learningRate(0));
            assertEquals(50, opt.trainingSteps());
            assertEquals(ListVariant.TORCH_PORT, opt.variant());
        }
    }

    @Test
    void float32ParametersKeepTheirDtypeAndFollowTheReference() {
        double[] p0 = TestTensors.gaussian(random, 64, 1.0);
        Tensor p = Tensor.create(toFloats(p0), 64).set_requires_grad(true);
        ReferenceNAdamW ref = new ReferenceNAdamW(entry, 20, ListVariant.TASKSET, TestTensors.values(p));
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 20)) {
            for (int i = 0; i < 20; i++) {
                double[] g = TestTensors.values(Tensor.create(toFloats(TestTensors.gaussian(random, 64, 1.0)), 64));
                TestTensors.setGrad(p, g);
                opt.step();
                ref.step(g);
            }
        }
        double[] expected = ref.params();
        double[] actual = TestTensors.values(p);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * Math.max(1, Math.abs(expected[i])), "element " + i);
        }
    }

    @Test
    void stepFreesEveryNativeObjectItCreatesWithoutACallerScope() {
        Tensor a = param(256);
        Tensor b = param(16);
        NAdamWConfig withL2 = OptList.configs().stream().filter(c -> c.l2WeightDecay() > 0 && c.useNesterov())
                .findFirst().orElseThrow();
        try (var opt = TestTensors.optimizer(new TensorVector(a, b), withL2, 100)) {
            TestTensors.setGrad(a, TestTensors.gaussian(random, 256, 1.0));
            TestTensors.setGrad(b, TestTensors.gaussian(random, 16, 1.0));
            opt.step(); // allocates the state
            long before = Pointer.totalCount();
            for (int i = 0; i < 20; i++) {
                opt.step();
            }
            assertEquals(before, Pointer.totalCount(), "native objects left behind by step()");
        }
    }

    @Test
    void stateSurvivesTheScopeTheOptimizerWasBuiltAndSteppedIn() {
        double[] p0 = TestTensors.gaussian(random, 8, 1.0);
        Tensor p = TestTensors.param(p0, 8);
        ReferenceNAdamW ref = new ReferenceNAdamW(entry, 10, ListVariant.TASKSET, p0);
        NAdamWCosineDecay opt;
        try (PointerScope scope = new PointerScope()) {
            opt = TestTensors.optimizer(new TensorVector(p), entry, 10);
            double[] g = TestTensors.gaussian(random, 8, 1.0);
            TestTensors.setGrad(p, g);
            opt.step();
            ref.step(g);
        }
        double[] g = TestTensors.gaussian(random, 8, 1.0);
        TestTensors.setGrad(p, g);
        opt.step();
        ref.step(g);
        opt.close();
        assertClose(ref.params(), TestTensors.values(p), "after the builder's scope closed");
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    private static double sumOfSquares(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v * v;
        }
        return sum;
    }
}
