package io.github.optlist.torch;

import io.github.optlist.internal.NonFiniteCheck;
import io.github.optlist.internal.NonFiniteCheck.Method;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.ReferenceNAdamW;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NonFiniteTest {

    final NAdamWConfig entry = OptList.config(0);

    @ParameterizedTest
    @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
    void nonFiniteGradientFlowsIntoParametersAsInTheReference(double bad) {
        Random random = new Random(5);
        double[] p0 = TestTensors.gaussian(random, 6, 1.0);
        Tensor p = TestTensors.param(p0, 6);
        ReferenceNAdamW ref = new ReferenceNAdamW(entry, 10, ListVariant.TASKSET, p0);
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 10)) {
            for (int k = 0; k < 4; k++) {
                double[] g = TestTensors.gaussian(random, 6, 1.0);
                if (k == 1) {
                    g[2] = bad;
                }
                TestTensors.setGrad(p, g);
                opt.step();
                ref.step(g);
            }
            assertEquals(4, opt.stepCount());
        }
        double[] expected = ref.params();
        double[] actual = TestTensors.values(p);
        assertTrue(Double.isNaN(expected[2]), "the reference itself turns the element into NaN");
        for (int i = 0; i < expected.length; i++) {
            if (Double.isNaN(expected[i])) {
                assertTrue(Double.isNaN(actual[i]), "element " + i + " should be NaN, is " + actual[i]);
            } else {
                assertEquals(expected[i], actual[i], 1e-12 * Math.max(1, Math.abs(expected[i])), "element " + i);
            }
        }
    }

    @Test
    void optInSkipsTheWholeStepAndReportsIt() {
        Random random = new Random(9);
        double[] a0 = TestTensors.gaussian(random, 4, 1.0);
        double[] b0 = TestTensors.gaussian(random, 3, 1.0);
        Tensor a = TestTensors.param(a0, 4);
        Tensor b = TestTensors.param(b0, 3);
        Tensor twinA = TestTensors.param(a0, 4);
        Tensor twinB = TestTensors.param(b0, 3);
        List<Long> reported = new ArrayList<>();
        try (var opt = skipping(entry, a, b);
             var twin = TestTensors.optimizer(new TensorVector(twinA, twinB), entry, 10)) {
            opt.setSkippedStepListener(reported::add);
            for (int k = 0; k < 5; k++) {
                double[] ga = TestTensors.gaussian(random, 4, 1.0);
                double[] gb = TestTensors.gaussian(random, 3, 1.0);
                if (k == 2) {
                    double[] poisoned = gb.clone();
                    poisoned[1] = Double.NaN;
                    TestTensors.setGrad(a, ga);
                    TestTensors.setGrad(b, poisoned);
                    double[] aBefore = TestTensors.values(a);
                    opt.step();
                    assertArrayEquals(aBefore, TestTensors.values(a), "no parameter changes on a skipped step");
                }
                TestTensors.setGrad(a, ga);
                TestTensors.setGrad(b, gb);
                opt.step();
                TestTensors.setGrad(twinA, ga);
                TestTensors.setGrad(twinB, gb);
                twin.step();
            }
            assertEquals(1, opt.skippedSteps());
            assertEquals(List.of(2L), reported);
            assertEquals(5, opt.stepCount());
            assertEquals(5, opt.stepCount(b));
        }
        // the skipped step left the moments untouched too: the run equals one that never saw it
        assertArrayEquals(TestTensors.values(twinA), TestTensors.values(a));
        assertArrayEquals(TestTensors.values(twinB), TestTensors.values(b));
    }

    /** An optimizer over {@code params} that skips steps with non-finite gradients, 10 steps long. */
    static NAdamWCosineDecay skipping(io.github.optlist.NAdamWConfig config, Tensor... params) {
        return TestTensors.optimizer(java.util.List.of(ParamGroup.of(new TensorVector(params), config)), 10,
                io.github.optlist.ListVariant.TASKSET, OptimizerOptions.DEFAULTS.withSkipNonFiniteSteps(true));
    }

    /** A float32 and a {@code dtype} parameter: the check runs once per device and dtype, so over two lists. */
    static Tensor[] mixedParams(ScalarType dtype) {
        return new Tensor[]{
                Tensor.create(new double[]{1, -2, 3, 4}, 4).to(ScalarType.Float).detach().set_requires_grad(true),
                Tensor.create(new double[]{0.5, 0.25, -1}, 3).to(dtype).detach().set_requires_grad(true)};
    }

    @ParameterizedTest
    @EnumSource(value = ScalarType.class, names = {"Half", "BFloat16", "Float", "Double"})
    void nonFiniteGradientOfEveryDtypeIsFound(ScalarType dtype) {
        Tensor[] params = mixedParams(dtype);
        try (var opt = skipping(entry, params)) {
            TestTensors.setGrad(params[0], new double[]{1, 1, 1, 1});
            TestTensors.setGrad(params[1], new double[]{1, 1, 1});
            opt.step();
            assertEquals(0, opt.skippedSteps(), "finite gradients are not skipped");
            double[] before = TestTensors.values(params[1]);
            TestTensors.setGrad(params[0], new double[]{1, 1, 1, 1});
            TestTensors.setGrad(params[1], new double[]{1, Double.POSITIVE_INFINITY, 1});
            opt.step();
            assertEquals(1, opt.skippedSteps());
            assertEquals(List.of(), opt.lastStepUpdates());
            assertArrayEquals(before, TestTensors.values(params[1]));
            assertEquals(1, opt.stepCount(params[1]));
        }
    }

    @Test
    void checkLeavesFiniteGradientsAsTheyAre() {
        Tensor[] checked = mixedParams(ScalarType.BFloat16);
        Tensor[] unchecked = mixedParams(ScalarType.BFloat16);
        Random random = new Random(4);
        try (var withCheck = skipping(entry, checked);
             var without = TestTensors.optimizer(new TensorVector(unchecked), entry, 10)) {
            for (int k = 0; k < 4; k++) {
                double[] g0 = TestTensors.gaussian(random, 4, 1e-3);
                double[] g1 = TestTensors.gaussian(random, 3, 1e3);
                TestTensors.setGrad(checked[0], g0);
                TestTensors.setGrad(checked[1], g1);
                TestTensors.setGrad(unchecked[0], g0);
                TestTensors.setGrad(unchecked[1], g1);
                double[] gradBefore = TestTensors.values(checked[1].grad());
                withCheck.step();
                without.step();
                assertArrayEquals(gradBefore, TestTensors.values(checked[1].grad()), "the gradient is unchanged");
            }
            assertEquals(0, withCheck.skippedSteps());
        }
        for (int i = 0; i < checked.length; i++) {
            assertArrayEquals(TestTensors.values(unchecked[i]), TestTensors.values(checked[i]));
        }
    }
    @Test
    void bfloat16OnCudaIsCheckedWithIsfiniteAndEverythingElseWithTheMultiTensorOperator() {
        int cuda = org.bytedeco.pytorch.global.torch.DeviceType.CUDA.value;
        int cpu = org.bytedeco.pytorch.global.torch.DeviceType.CPU.value;
        assertEquals(Method.ISFINITE_PER_TENSOR, NonFiniteCheck.methodFor(cuda, ScalarType.BFloat16.value));
        for (ScalarType dtype : new ScalarType[]{ScalarType.Half, ScalarType.Float, ScalarType.Double}) {
            assertEquals(Method.MULTI_TENSOR_OPERATOR, NonFiniteCheck.methodFor(cuda, dtype.value), dtype.name());
            assertEquals(Method.MULTI_TENSOR_OPERATOR, NonFiniteCheck.methodFor(cpu, dtype.value), dtype.name());
        }
        assertEquals(Method.MULTI_TENSOR_OPERATOR, NonFiniteCheck.methodFor(cpu, ScalarType.BFloat16.value));
    }

    @ParameterizedTest
    @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
    void cudaBfloat16BranchFindsNonFiniteValuesAndPassesFiniteOnes(double bad) {
        // CPU tensors taken down the branch the check takes for bfloat16 gradients on CUDA.
        int cuda = org.bytedeco.pytorch.global.torch.DeviceType.CUDA.value;
        NonFiniteCheck check = new NonFiniteCheck((deviceType, dtype) -> NonFiniteCheck.methodFor(cuda, dtype));
        try (var scope = new org.bytedeco.javacpp.PointerScope()) {
            Tensor finite = Tensor.create(new double[]{1, -3e38, 0.5}, 3).to(ScalarType.BFloat16);
            Tensor other = Tensor.create(new double[]{2, 4}, 2).to(ScalarType.BFloat16);
            Tensor wide = Tensor.create(new double[]{1, 2}, 2).to(ScalarType.Float);
            assertTrue(check.allFinite(java.util.Arrays.asList(finite, null, other, wide)));
            Tensor nonFinite = Tensor.create(new double[]{1, bad, 0.5}, 3).to(ScalarType.BFloat16);
            assertFalse(check.allFinite(java.util.Arrays.asList(finite, nonFinite, wide)));
            assertTrue(check.allFinite(List.of(finite, other)), "the flag is cleared for the next check");
            assertArrayEquals(new double[]{1, bad, 0.5}, TestTensors.values(nonFinite), "values are left as they are");
        } finally {
            check.release();
        }
    }
}
