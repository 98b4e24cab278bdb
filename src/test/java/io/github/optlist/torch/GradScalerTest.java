package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.ReferenceNAdamW;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link GradScaler} against torch's documented algorithm ({@code torch.amp.GradScaler}: scale the loss, skip the
 * step on a non-finite gradient, back off then, grow after {@code growth_interval} good steps) and against the
 * scalar NAdamW fed the true gradients, on float16 parameters.
 */
class GradScalerTest {

    private static final long STEPS = 50;

    /** torch's {@code _amp_update_scale_}, written from its documentation, on a float32 scale. */
    private static final class ReferenceScale {
        float scale;
        int tracker;
        final double growth;
        final double backoff;
        final int interval;

        ReferenceScale(double init, double growth, double backoff, int interval) {
            this.scale = (float) init;
            this.growth = growth;
            this.backoff = backoff;
            this.interval = interval;
        }

        void update(boolean foundInf) {
            if (foundInf) {
                scale = (float) (scale * backoff);
                tracker = 0;
            } else if (++tracker == interval) {
                float grown = (float) (scale * growth);
                if (Float.isFinite(grown)) {
                    scale = grown;
                }
                tracker = 0;
            }
        }
    }

    private static Tensor half(double[] values) {
        return Tensor.create(values, values.length).to(ScalarType.Half).set_requires_grad(true);
    }

    private static void setGrad(Tensor param, double[] grad) {
        param.mutable_grad().put(Tensor.create(grad, grad.length).to(ScalarType.Half));
    }

    private static NAdamWCosineDecay optimizer(Tensor param, NAdamWConfig config, UpdatePath path,
                                               StatePrecision precision) {
        OptimizerOptions options = OptimizerOptions.builder().updatePath(path).statePrecision(precision).build();
        return TestTensors.optimizer(List.of(ParamGroup.of(List.of(param), config)), STEPS, ListVariant.TASKSET,
                options);
    }

    /** The float16 value of each entry, as doubles. */
    private static double[] roundedToHalf(double[] values) {
        return TestTensors.values(Tensor.create(values, values.length).to(ScalarType.Half));
    }

    @Test
    void theScaleBacksOffOnASkipAndGrowsAfterTheIntervalAsTorchsDoes() {
        boolean[] infAt = {false, false, true, false, false, false, false, true, true, false, false, false};
        GradScaler scaler = new GradScaler(1024, 2, 0.5, 3);
        ReferenceScale reference = new ReferenceScale(1024, 2, 0.5, 3);
        Tensor p = half(new double[]{0.5, -0.25});
        try (var opt = optimizer(p, OptList.config(0), UpdatePath.FUSED, StatePrecision.FLOAT32)) {
            for (boolean inf : infAt) {
                setGrad(p, new double[]{inf ? Double.POSITIVE_INFINITY : 0.01, 0.02});
                assertEquals(!inf, scaler.step(opt));
                scaler.update();
                reference.update(inf);
                assertEquals(reference.scale, scaler.getScale());
                assertEquals(reference.tracker, scaler.state().growthTracker());
            }
            assertEquals(infAt.length - 3, opt.stepCount(), "the skipped steps do not count");
            assertEquals(infAt.length - 3, opt.stepCount(p));
        }
    }

    @Test
    void theScaleGrowsOnlyWhileItStaysFiniteInFloat32() {
        GradScaler scaler = new GradScaler(Float.MAX_VALUE / 1.5, 2, 0.5, 1);
        Tensor p = half(new double[]{0.5});
        try (var opt = optimizer(p, OptList.config(0), UpdatePath.FUSED, StatePrecision.FLOAT32)) {
            setGrad(p, new double[]{0.01});
            scaler.step(opt);
            scaler.update();
            assertEquals((float) (Float.MAX_VALUE / 1.5), scaler.getScale());
        }
    }

    @ParameterizedTest
    @EnumSource(UpdatePath.class)
    void aSkippedStepChangesNoParameterMomentOrStepCount(UpdatePath path) {
        Tensor p = half(new double[]{0.5, -0.25, 0.125});
        GradScaler scaler = new GradScaler();
        try (var opt = optimizer(p, OptList.config(3), path, StatePrecision.FLOAT32_MASTER_WEIGHTS)) {
            setGrad(p, new double[]{300, -200, 100});
            assertTrue(scaler.step(opt));
            scaler.update();
            double[] before = TestTensors.values(p);
            OptimizerState.Param state = opt.stateDict(p);
            double[] m = TestTensors.values(state.expAvg());
            double[] v = TestTensors.values(state.expAvgSq());
            double[] master = TestTensors.values(state.master());
            for (double bad : new double[]{Double.NaN, Double.NEGATIVE_INFINITY}) {
                setGrad(p, new double[]{1, bad, 1});
                assertFalse(scaler.step(opt));
                scaler.update();
                assertArrayEquals(before, TestTensors.values(p));
                OptimizerState.Param after = opt.stateDict(p);
                assertArrayEquals(m, TestTensors.values(after.expAvg()));
                assertArrayEquals(v, TestTensors.values(after.expAvgSq()));
                assertArrayEquals(master, TestTensors.values(after.master()));
                assertEquals(1, after.step());
                assertEquals(1, opt.stepCount());
            }
            assertEquals(65536.0 / 4, scaler.getScale());
        }
    }

    /**
     * Gradients far below float16's smallest normal number (6.1e-5) keep only a few bits there; scaled by 2^16 they
     * are ordinary float16 numbers, and the update divides them back in float32. So on every path the float32 master
     * copy follows the scalar reference fed {@code half(g * scale) / scale} to float32 precision; dividing the
     * float16 gradients in float16 first would leave them up to a quarter off, and the parameters with them. Adam
     * with a small epsilon normalizes the update, so the parameters move by about the learning rate each step.
     */
    @ParameterizedTest
    @EnumSource(UpdatePath.class)
    void tinyGradientsUpdateAsTheirScaledValuesDividedInFloat32(UpdatePath path) {
        Random random = new Random(7);
        int n = 64;
        double[] initial = roundedToHalf(TestTensors.gaussian(random, n, 0.5));
        NAdamWConfig config = NAdamWConfig.adam(1e-2).toBuilder().epsilon(1e-12).build();
        Tensor p = half(initial);
        ReferenceNAdamW reference = new ReferenceNAdamW(config, STEPS, ListVariant.TASKSET, initial);
        GradScaler scaler = new GradScaler();
        try (var opt = optimizer(p, config, path, StatePrecision.FLOAT32_MASTER_WEIGHTS)) {
            for (int k = 0; k < 5; k++) {
                double[] tiny = TestTensors.gaussian(random, n, 2e-7);
                double[] scaled = new double[n];
                for (int i = 0; i < n; i++) {
                    scaled[i] = tiny[i] * scaler.getScale();
                }
                double[] scaledHalf = roundedToHalf(scaled);
                double[] unscaled = new double[n];
                for (int i = 0; i < n; i++) {
                    unscaled[i] = scaledHalf[i] / scaler.getScale();
                }
                setGrad(p, scaled);
                assertTrue(scaler.step(opt));
                scaler.update();
                reference.step(unscaled);
            }
            double[] master = TestTensors.values(opt.stateDict(p).master());
            double[] expected = reference.params();
            for (int i = 0; i < n; i++) {
                assertEquals(expected[i], master[i], 1e-6, "element " + i);
            }
        }
    }

    @Test
    void withoutScalingTheSameTinyGradientsLoseTheirValueInFloat16() {
        double[] tiny = {2e-7, -3e-7, 1.1e-7};
        double[] asHalf = roundedToHalf(tiny);
        double worst = 0;
        for (int i = 0; i < tiny.length; i++) {
            worst = Math.max(worst, Math.abs(asHalf[i] - tiny[i]) / Math.abs(tiny[i]));
        }
        assertTrue(worst > 0.05, "float16 keeps these gradients to " + worst);
    }

    @Test
    void theScheduleAndBiasCorrectionCountOnlyTheStepsThatRan() {
        NAdamWConfig config = OptList.config(0);
        double[] initial = roundedToHalf(new double[]{0.5, -0.25});
        Tensor p = half(initial);
        ReferenceNAdamW reference = new ReferenceNAdamW(config, STEPS, ListVariant.TASKSET, initial);
        GradScaler scaler = new GradScaler(8, 2, 0.5, 100);
        try (var opt = optimizer(p, config, UpdatePath.FUSED, StatePrecision.FLOAT32_MASTER_WEIGHTS)) {
            double[][] grads = {{0.5, 0.25}, {Double.NaN, 0}, {Double.POSITIVE_INFINITY, 1}, {0.125, -0.5}};
            for (double[] g : grads) {
                double scale = scaler.getScale();
                setGrad(p, new double[]{g[0] * scale, g[1] * scale});
                boolean ran = scaler.step(opt);
                scaler.update();
                if (ran) {
                    reference.step(g);
                }
            }
            assertEquals(2, opt.stateDict(p).step());
            assertArrayEquals(reference.params(), TestTensors.values(opt.stateDict(p).master()), 1e-6);
            assertEquals(ReferenceNAdamW.lr(config, 2, STEPS, ListVariant.TASKSET), opt.learningRate(), 1e-12);
        }
    }

    @Test
    void unscaleGivesTheTrueGradientsBeforeTheStep() {
        Tensor p = Tensor.create(new double[]{1, 2}, 2).to(ScalarType.Float).set_requires_grad(true);
        GradScaler scaler = new GradScaler(4, 2, 0.5, 10);
        try (var opt = TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), OptList.config(0))), STEPS,
                ListVariant.TASKSET)) {
            p.mutable_grad().put(Tensor.create(new double[]{8, -4}, 2).to(ScalarType.Float));
            scaler.unscale(opt);
            assertArrayEquals(new double[]{2, -1}, TestTensors.values(p.grad()));
            assertThrows(IllegalStateException.class, () -> scaler.unscale(opt));
            assertTrue(scaler.step(opt));
            assertThrows(IllegalStateException.class, () -> scaler.step(opt));
            assertThrows(IllegalStateException.class, () -> scaler.unscale(opt));
            scaler.update();
            assertThrows(IllegalStateException.class, scaler::update, "update without a step");
        }
    }

    @Test
    void unscaleRefusesFloat16GradientsAsTorchDoes() {
        Tensor p = half(new double[]{1});
        GradScaler scaler = new GradScaler();
        try (var opt = optimizer(p, OptList.config(0), UpdatePath.FUSED, StatePrecision.FLOAT32)) {
            setGrad(p, new double[]{1});
            assertThrows(IllegalArgumentException.class, () -> scaler.unscale(opt));
            assertTrue(scaler.step(opt), "a refused unscale leaves the iteration as it was");
        }
    }

    @Test
    void theStateRoundTripsAndOtherSettingsAreRefused() {
        GradScaler scaler = new GradScaler(1024, 2, 0.5, 3);
        Tensor p = half(new double[]{0.5});
        try (var opt = optimizer(p, OptList.config(0), UpdatePath.FUSED, StatePrecision.FLOAT32)) {
            setGrad(p, new double[]{1});
            scaler.step(opt);
            scaler.update();
        }
        GradScaler.State state = scaler.state();
        assertEquals(new GradScaler.State(1024, 2, 0.5, 3, 1), state);
        GradScaler resumed = new GradScaler(1, 2, 0.5, 3);
        resumed.loadState(state);
        assertEquals(state, resumed.state());
        GradScaler other = new GradScaler();
        assertThrows(IllegalArgumentException.class, () -> other.loadState(state));
        assertEquals(new GradScaler().state(), other.state(), "a refused state changes nothing");
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(0, 2, 0.5, 10));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(Double.NaN, 2, 0.5, 10));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 1, 0.5, 10));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 0.5, 0));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler().scale(null));
        GradScaler defaults = new GradScaler();
        assertEquals(new GradScaler.State(65536, 2, 0.5, 2000, 0), defaults.state());
    }

    @Test
    void aScaledStepRefusesAScaleThatIsNotPositiveAndFiniteInFloat32AndChangesNothing() {
        Tensor p = half(new double[]{0.5, -0.25});
        try (var opt = optimizer(p, OptList.config(0), UpdatePath.FUSED, StatePrecision.FLOAT32)) {
            setGrad(p, new double[]{1, 1});
            for (double bad : new double[]{0, -1, Double.NaN, Double.POSITIVE_INFINITY, 1e39}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.scaledStep(bad));
                assertTrue(e.getMessage().contains("gradScale"), e.getMessage());
            }
            assertArrayEquals(new double[]{0.5, -0.25}, TestTensors.values(p));
            assertEquals(0, opt.stepCount());
            assertEquals(0, opt.stepCount(p));
        }
    }

    @Test
    void scaleMultipliesTheLoss() {
        try (PointerScope scope = new PointerScope()) {
            Tensor loss = Tensor.create(new double[]{0.75}, 1).to(ScalarType.Float);
            assertArrayEquals(new double[]{0.75 * 65536}, TestTensors.values(new GradScaler().scale(loss)));
        }
    }

    /**
     * torch's {@code scale} multiplies by its scale, a 0-dim float32 tensor, and type promotion ranks a tensor with
     * dimensions above a 0-dim one above a plain number: a 0-dim float16 or bfloat16 loss becomes float32 (2 x 2^16
     * = 131072, past float16's 65504), a float16 loss with a dimension stays float16 (and overflows, in torch too),
     * a float64 loss stays float64. The float32 product carries the gradient back to float16 parameters.
     */
    @Test
    void aZeroDimFloat16LossIsScaledInFloat32AsTorchPromotesIt() {
        try (PointerScope scope = new PointerScope()) {
            GradScaler scaler = new GradScaler();
            Tensor halfLoss = Tensor.create(new double[]{2}, 1).to(ScalarType.Half).squeeze();
            Tensor scaled = scaler.scale(halfLoss);
            assertEquals(ScalarType.Float.value, scaled.scalar_type().value);
            assertEquals(0, scaled.dim());
            assertEquals(131072.0, scaled.item_double());
            Tensor bfloatLoss = Tensor.create(new double[]{2}, 1).to(ScalarType.BFloat16).squeeze();
            assertEquals(ScalarType.Float.value, scaler.scale(bfloatLoss).scalar_type().value);
            Tensor halfVector = Tensor.create(new double[]{2}, 1).to(ScalarType.Half);
            Tensor scaledVector = scaler.scale(halfVector);
            assertEquals(ScalarType.Half.value, scaledVector.scalar_type().value);
            assertEquals(Double.POSITIVE_INFINITY, scaledVector.item_double());
            Tensor doubleLoss = Tensor.create(new double[]{0.1}, 1).squeeze();
            Tensor scaledDouble = scaler.scale(doubleLoss);
            assertEquals(ScalarType.Double.value, scaledDouble.scalar_type().value);
            assertEquals(0.1 * 65536, scaledDouble.item_double());
            Tensor w = half(new double[]{0.5, -1.5});
            Tensor scaledHalfLoss = new GradScaler(8, 2, 0.5, 10).scale(w.mul(w).sum());
            assertEquals(ScalarType.Float.value, scaledHalfLoss.scalar_type().value);
            scaledHalfLoss.backward();
            assertEquals(ScalarType.Half.value, w.grad().scalar_type().value);
            assertArrayEquals(new double[]{2 * 0.5 * 8, 2 * -1.5 * 8}, TestTensors.values(w.grad()));
        }
    }

    @Test
    void aScaleThatIsZeroOrInfiniteInFloat32IsRefusedNamingTheArgument() {
        for (double bad : new double[]{1e-50, 1e-46, Float.MIN_VALUE / 2, -0.0, 1e39}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new GradScaler(bad, 2, 0.5, 10));
            assertTrue(e.getMessage().startsWith("initScale must be positive and finite in float32"), e.getMessage());
            IllegalArgumentException state = assertThrows(IllegalArgumentException.class,
                    () -> new GradScaler.State(bad, 2, 0.5, 10, 0));
            assertTrue(state.getMessage().startsWith("scale must be positive and finite in float32"),
                    state.getMessage());
        }
        assertEquals(Float.MIN_VALUE, new GradScaler(Float.MIN_VALUE, 2, 0.5, 10).getScale(),
                "the smallest positive float32 is a scale");
    }

    /**
     * Backing off by 0.5 from 2^16, torch's scale is 2^-150, 0 in float32, after 166 skips in a row; here it stops
     * at 2^-126, the smallest normal float32, and the steps go on: skipped while the gradients are not finite, run
     * once they are.
     */
    @Test
    void manySkippedStepsInARowKeepTheScalePositiveAndTheStepsRunning() {
        GradScaler scaler = new GradScaler();
        Tensor p = half(new double[]{0.5, -0.25});
        try (var opt = optimizer(p, OptList.config(0), UpdatePath.FUSED, StatePrecision.FLOAT32)) {
            for (int k = 1; k <= 200; k++) {
                setGrad(p, new double[]{Double.NaN, 1});
                assertFalse(scaler.step(opt), "skip " + k);
                scaler.update();
                assertEquals(Math.max(Math.scalb(1.0, 16 - k), Math.scalb(1.0, -126)), scaler.getScale(), "skip " + k);
            }
            assertEquals(Float.MIN_NORMAL, scaler.getScale());
            assertEquals(GradScaler.MIN_BACKOFF_SCALE, scaler.getScale());
            setGrad(p, new double[]{1e-3, 1});
            assertTrue(scaler.step(opt));
            scaler.update();
            assertEquals(1, opt.stepCount());
        }
    }

    @Test
    void aBackoffStopsAtTheSmallestNormalFloat32AndLeavesASmallerScaleAsItIs() {
        double subnormal = Math.scalb(1.0, -140);
        GradScaler scaler = new GradScaler(subnormal, 2, 0.5, 10);
        GradScaler steep = new GradScaler(1024, 2, 1e-30, 10);
        Tensor p = half(new double[]{0.5});
        try (var opt = optimizer(p, OptList.config(0), UpdatePath.FUSED, StatePrecision.FLOAT32)) {
            for (GradScaler s : List.of(scaler, steep)) {
                setGrad(p, new double[]{Double.POSITIVE_INFINITY});
                assertFalse(s.step(opt));
                s.update();
            }
            assertFalse(steep.step(opt));
            steep.update();
        }
        assertEquals(subnormal, scaler.getScale(), "a subnormal scale given at construction stays");
        assertEquals(Math.scalb(1.0, -126), steep.getScale(), "1024 x 1e-30 x 1e-30 is below 2^-126");
    }

    /** A gradient that the in-place division cannot handle, set on the second of two parameters. */
    enum BadGradient {
        EXPANDED, INTEGER, SPARSE;

        Tensor make() {
            Tensor six = Tensor.create(new double[]{6}, 1).to(ScalarType.Float);
            return switch (this) {
                case EXPANDED -> six.expand(2);
                case INTEGER -> Tensor.create(new long[]{6, 6}, 2);
                case SPARSE -> Tensor.create(new double[]{6, 6}, 2).to(ScalarType.Float).to_sparse();
            };
        }
    }

    @ParameterizedTest
    @EnumSource(BadGradient.class)
    void aRefusedUnscaleLeavesEveryGradientAsItWasAndARetryDividesOnce(BadGradient bad) {
        Tensor first = Tensor.create(new double[]{1, 2}, 2).to(ScalarType.Float).set_requires_grad(true);
        Tensor second = Tensor.create(new double[]{3, 4}, 2).to(ScalarType.Float).set_requires_grad(true);
        GradScaler scaler = new GradScaler(4, 2, 0.5, 10);
        try (var opt = TestTensors.optimizer(List.of(ParamGroup.of(List.of(first, second), OptList.config(0))),
                STEPS, ListVariant.TASKSET)) {
            first.mutable_grad().put(Tensor.create(new double[]{8, -4}, 2).to(ScalarType.Float));
            second.mutable_grad().put(bad.make());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> scaler.unscale(opt));
            assertTrue(e.getMessage().startsWith("params[1] of group 0 has a"), e.getMessage());
            assertArrayEquals(new double[]{8, -4}, TestTensors.values(first.grad()), "not divided");
            assertEquals(ScalarType.Float.value, first.grad().scalar_type().value);
            Tensor refused = second.grad();
            Tensor dense = TensorChecks.isStrided(refused) ? refused : refused.to_dense();
            assertArrayEquals(new double[]{6, 6}, TestTensors.values(dense.to(ScalarType.Double)));
            second.mutable_grad().put(Tensor.create(new double[]{6, 6}, 2).to(ScalarType.Float));
            scaler.unscale(opt);
            assertArrayEquals(new double[]{2, -1}, TestTensors.values(first.grad()));
            assertArrayEquals(new double[]{1.5, 1.5}, TestTensors.values(second.grad()));
            assertTrue(scaler.step(opt));
            scaler.update();
        }
    }

    /**
     * A float16 linear model trained through a float32 loss: at {@code w = 0} the gradient is {@code -2/n X^T y},
     * and while its largest entry times the scale rounds past float16's largest number (65504) the step is skipped
     * and the scale halves, as torch's scaler does; from then on every step runs and the loss falls.
     */
    @Test
    void trainingAFloat16ModelSkipsTheOverflowingFirstStepAndThenLearns() {
        manualSeed();
        Tensor x = org.bytedeco.pytorch.global.torch.randn(64, 8);
        Tensor y = x.matmul(Tensor.create(new double[]{1, -2, 0.5, 3, -1, 2, 0, 1}, 8).to(ScalarType.Float));
        Tensor w = org.bytedeco.pytorch.global.torch.zeros(8).to(ScalarType.Half).set_requires_grad(true);
        GradScaler scaler = new GradScaler();
        List<Boolean> ran = new ArrayList<>();
        List<Double> losses = new ArrayList<>();
        try (var opt = optimizer(w, NAdamWConfig.adam(0.05), UpdatePath.FUSED, StatePrecision.FLOAT32_MASTER_WEIGHTS)) {
            for (int k = 0; k < 40; k++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zeroGrad();
                    Tensor residual = x.matmul(w.to(ScalarType.Float)).sub(y);
                    Tensor loss = residual.mul(residual).mean();
                    losses.add(loss.item_double());
                    scaler.scale(loss).backward();
                    ran.add(scaler.step(opt));
                    scaler.update();
                }
            }
            double[] xs = TestTensors.values(x);
            double[] ys = TestTensors.values(y);
            double largest = 0;
            for (int j = 0; j < 8; j++) {
                double g = 0;
                for (int r = 0; r < 64; r++) {
                    g += -2.0 / 64 * xs[r * 8 + j] * ys[r];
                }
                largest = Math.max(largest, Math.abs(g));
            }
            int skips = 0;
            for (double scale = 65536; largest * scale >= 65520; scale /= 2) {
                skips++; // 65520 and above round to infinity in float16
            }
            assertTrue(skips > 0, "the test needs an overflow: largest gradient " + largest);
            List<Boolean> expected = new ArrayList<>();
            for (int k = 0; k < 40; k++) {
                expected.add(k >= skips);
            }
            assertEquals(expected, ran);
            assertEquals(65536.0 / (1 << skips), scaler.getScale());
            assertEquals(40 - skips, opt.stepCount());
            assertTrue(losses.get(39) < 0.2 * losses.get(0), losses.toString());
        }
    }

    private static void manualSeed() {
        org.bytedeco.pytorch.global.torch.manual_seed(3);
    }
}
