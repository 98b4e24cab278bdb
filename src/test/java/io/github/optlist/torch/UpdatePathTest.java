package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.MemoryFormat;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The multi-tensor and fused paths against the single-tensor path, run side by side on the same parameters and
 * gradients. Differences are measured relative to the largest magnitude the tensor has held so far: the paths compute
 * the same update in different orders, and where a sum cancels (a parameter that swings through zero), an element's
 * own relative error says nothing.
 */
class UpdatePathTest {

    static final long TRAINING_STEPS = 16;
    static final int STEPS_RUN = 20;
    static final double FLOAT64_TOLERANCE = 1e-12;
    /** Eight float32 ulps of the largest element, after twenty steps in which the paths round differently. */
    static final double FLOAT32_TOLERANCE = 8 * Math.ulp(1.0f);
    /** Shapes that exercise vectorized loops and their tails, a scalar, and a 1-element tensor. */
    static final long[][] SHAPES = {{37}, {5, 13}, {}, {1}, {64, 3}};

    /**
     * The first list entry of each kind (Nesterov or not, each mix of weight decays), and one without bias correction.
     */
    static List<NAdamWConfig> configsOfEveryKind() {
        List<NAdamWConfig> configs = new ArrayList<>();
        for (boolean nesterov : new boolean[]{false, true}) {
            addFirst(configs, c -> c.useNesterov() == nesterov && c.l2WeightDecay() == 0 && c.adamwWeightDecay() > 0);
            addFirst(configs, c -> c.useNesterov() == nesterov && c.l2WeightDecay() > 0 && c.adamwWeightDecay() == 0);
            addFirst(configs, c -> c.useNesterov() == nesterov && c.l2WeightDecay() > 0 && c.adamwWeightDecay() > 0);
            configs.add(new NAdamWConfig("custom-no-bias-correction-" + nesterov, 0.01, 0.5, 0.9, 1e-2, nesterov,
                    0.01, 0.0, 0.1, 0.0, 0.5, false));
        }
        // Nesterov without L2 below the smallest beta1 at which the fused path recovers m by extrapolation.
        addFirst(configs, c -> c.useNesterov() && c.l2WeightDecay() == 0
                && c.beta1() < NAdamWUpdate.SMALLEST_BETA1_TO_EXTRAPOLATE);
        return configs;
    }

    private static void addFirst(List<NAdamWConfig> configs, Predicate<NAdamWConfig> kind) {
        configs.add(OptList.configs().stream().filter(kind).findFirst().orElseThrow());
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (NAdamWConfig config : configsOfEveryKind()) {
            for (UpdatePath path : new UpdatePath[]{UpdatePath.FUSED, UpdatePath.MULTI_TENSOR}) {
                for (ScalarType dtype : new ScalarType[]{ScalarType.Double, ScalarType.Float}) {
                    cases.add(Arguments.of(config, path, dtype));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void fastPathsAgreeWithSingleTensorPath(NAdamWConfig config, UpdatePath path, ScalarType dtype) {
        Random random = new Random(config.name().hashCode() + 7L * path.ordinal() + dtype.value);
        SideBySide run = new SideBySide(config, dtype, path, random);
        for (int step = 0; step < STEPS_RUN; step++) {
            run.step(random, i -> true);
            run.assertAgree(dtype.value == ScalarType.Double.value ? FLOAT64_TOLERANCE : FLOAT32_TOLERANCE,
                    "step " + step);
        }
        assertEquals(SHAPES.length * (long) STEPS_RUN, run.tensorUpdates(path), "updates on the " + path + " path");
        assertEquals(List.of(path), run.fast.lastStepUpdates().stream().map(UpdatePath.Report::path).toList());
        run.close();
    }

    @Test
    void parametersWithoutGradientAtSomeStepsFormTheirOwnBuckets() {
        NAdamWConfig config = OptList.config(1);
        Random random = new Random(11);
        SideBySide run = new SideBySide(config, ScalarType.Double, UpdatePath.FUSED, random);
        for (int step = 0; step < STEPS_RUN; step++) {
            int s = step;
            // Tensor i skips every (i + 2)-th step, so step counts drift apart and buckets split and merge.
            run.step(random, i -> s % (i + 2) != 0);
            run.assertAgree(FLOAT64_TOLERANCE, "step " + step);
        }
        assertTrue(run.tensorUpdates(UpdatePath.FUSED) > 0);
        run.close();
    }

    /**
     * Runs five steps of {@code config} (entry 0 if not given) with the same gradients on {@code param} with the
     * fused path and on a contiguous copy with the single-tensor path, the gradient laid out by {@code layoutOfGrad};
     * returns the last step's report.
     */
    private static UpdatePath.Report compareWithContiguousRun(Tensor param, UnaryOperator<Tensor> layoutOfGrad) {
        return compareWithContiguousRun(param, layoutOfGrad, OptList.config(0));
    }

    private static UpdatePath.Report compareWithContiguousRun(Tensor param, UnaryOperator<Tensor> layoutOfGrad,
                                                              NAdamWConfig config) {
        Random random = new Random(5);
        Tensor contiguous = param.detach().contiguous().set_requires_grad(true);
        int n = (int) param.numel();
        UpdatePath.Report last;
        try (var singleOpt = optimizer(List.of(contiguous), config, UpdatePath.SINGLE_TENSOR);
             var fusedOpt = optimizer(List.of(param), config, UpdatePath.FUSED)) {
            for (int step = 0; step < 5; step++) {
                double[] grad = TestTensors.gaussian(random, n, 1.0);
                try (PointerScope scope = new PointerScope()) {
                    Tensor g = Tensor.create(grad, param.shape());
                    contiguous.mutable_grad().put(g);
                    param.mutable_grad().put(layoutOfGrad.apply(g.clone()));
                    singleOpt.step();
                    fusedOpt.step();
                }
            }
            last = fusedOpt.lastStepUpdates().get(0);
        }
        assertMaxRelativeDifference(TestTensors.values(contiguous), TestTensors.values(param), FLOAT64_TOLERANCE,
                "strided parameter");
        return last;
    }

    @Test
    void channelsLastParameterTakesTheFusedPath() {
        Tensor param = TestTensors.param(TestTensors.gaussian(new Random(1), 2 * 3 * 4 * 5, 1.0), 2, 3, 4, 5)
                .detach().contiguous(MemoryFormat.ChannelsLast).set_requires_grad(true);
        assertFalse(param.is_contiguous());
        UpdatePath.Report update = compareWithContiguousRun(param, g -> g.contiguous(MemoryFormat.ChannelsLast));
        assertEquals(UpdatePath.FUSED, update.path(), update.fallbackReason());
        assertFalse(update.fellBack());
    }

    @Test
    void channelsLastParameterOfAnEntryWithL2AndDecoupledDecayAgreesWithTheSingleTensorPath() {
        // The fused path decays non-contiguous parameters by another op than contiguous ones (BucketTensorLists.scale).
        NAdamWConfig config = OptList.configs().stream()
                .filter(c -> !c.useNesterov() && c.l2WeightDecay() > 0 && c.adamwWeightDecay() > 0)
                .findFirst().orElseThrow();
        Tensor param = TestTensors.param(TestTensors.gaussian(new Random(7), 2 * 3 * 4 * 5, 1.0), 2, 3, 4, 5)
                .detach().contiguous(MemoryFormat.ChannelsLast).set_requires_grad(true);
        assertFalse(param.is_contiguous());
        UpdatePath.Report update = compareWithContiguousRun(param, g -> g.contiguous(MemoryFormat.ChannelsLast),
                config);
        assertEquals(UpdatePath.FUSED, update.path(), update.fallbackReason());
    }

    @Test
    void transposedParameterWithTransposedGradientTakesTheFusedPath() {
        Tensor param = TestTensors.param(TestTensors.gaussian(new Random(2), 24, 1.0), 4, 6).t().detach()
                .set_requires_grad(true);
        UpdatePath.Report update = compareWithContiguousRun(param, g -> g.t().contiguous().t());
        assertEquals(UpdatePath.FUSED, update.path(), update.fallbackReason());
    }

    @Test
    void gradientWhoseStridesDifferOnlyInDimensionsOfSizeOneTakesTheFusedPath() {
        Tensor param = TestTensors.param(TestTensors.gaussian(new Random(6), 12, 1.0), 3, 1, 4);
        UpdatePath.Report update = compareWithContiguousRun(param,
                g -> g.as_strided(new long[]{3, 1, 4}, new long[]{4, 1, 1}));
        assertEquals(UpdatePath.FUSED, update.path(), update.fallbackReason());
    }

    @Test
    void gradientWithOtherStridesTakesTheMultiTensorPathAndSaysWhy() {
        Tensor param = TestTensors.param(TestTensors.gaussian(new Random(3), 24, 1.0), 4, 6).t().detach()
                .set_requires_grad(true);
        UpdatePath.Report update = compareWithContiguousRun(param, g -> g.contiguous());
        assertEquals(UpdatePath.MULTI_TENSOR, update.path());
        assertTrue(update.fellBack());
        assertTrue(update.fallbackReason().contains("params[0] of group 0 has strides [1, 6] but its gradient [4, 1]"),
                update.fallbackReason());
    }

    @Test
    void parameterWithGapsTakesTheMultiTensorPathAndSaysWhy() {
        Tensor every = TestTensors.param(TestTensors.gaussian(new Random(4), 24, 1.0), 4, 6);
        Tensor param = every.detach().slice(1, new LongOptional(0), new LongOptional(6), 2).set_requires_grad(true);
        assertFalse(param.is_non_overlapping_and_dense());
        UpdatePath.Report update = compareWithContiguousRun(param, g -> g);
        assertEquals(UpdatePath.MULTI_TENSOR, update.path());
        assertTrue(update.fallbackReason().contains("not dense"), update.fallbackReason());
    }

    @Test
    void decayThatWouldWipeTheParameterFallsBackToMultiTensorPath() {
        // lr_t * adamwWeightDecay == 1 at every step: the fused path's 1 / (1 - lr_t * wd) does not exist.
        NAdamWConfig config = new NAdamWConfig("wipes", 0.5, 0.9, 0.99, 1e-3, true, 2.0, 0.1, 0.0, 1.0, 1.0, false);
        Random random = new Random(9);
        SideBySide run = new SideBySide(config, ScalarType.Double, UpdatePath.FUSED, random);
        for (int step = 0; step < 3; step++) {
            run.step(random, i -> true);
            run.assertAgree(FLOAT64_TOLERANCE, "step " + step);
        }
        assertEquals(0, run.tensorUpdates(UpdatePath.FUSED));
        assertEquals(3L * SHAPES.length, run.tensorUpdates(UpdatePath.MULTI_TENSOR));
        UpdatePath.Report update = run.fast.lastStepUpdates().get(0);
        assertEquals(UpdatePath.MULTI_TENSOR, update.path());
        assertTrue(update.fallbackReason().contains("would wipe"), update.fallbackReason());
        run.close();
    }

    @Test
    void singleTensorPathUsesNoOtherPath() {
        Random random = new Random(2);
        SideBySide run = new SideBySide(OptList.config(0), ScalarType.Double, UpdatePath.SINGLE_TENSOR, random);
        run.step(random, i -> true);
        assertEquals(SHAPES.length, run.tensorUpdates(UpdatePath.SINGLE_TENSOR));
        assertEquals(0, run.tensorUpdates(UpdatePath.FUSED) + run.tensorUpdates(UpdatePath.MULTI_TENSOR));
        assertEquals(List.of(new UpdatePath.Report(0, List.of(0, 1, 2, 3, 4), UpdatePath.SINGLE_TENSOR, "cpu", "Double",
                "Double", 0, "")), run.fast.lastStepUpdates());
        run.close();
    }

    private static NAdamWCosineDecay optimizer(List<Tensor> params, NAdamWConfig config, UpdatePath path) {
        return TestTensors.optimizer(List.of(ParamGroup.of(params, config)), TRAINING_STEPS, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS.withUpdatePath(path));
    }

    static void assertMaxRelativeDifference(double[] expected, double[] actual, double tolerance, String what) {
        assertMaxRelativeDifference(expected, actual, largestMagnitude(expected), tolerance, what);
    }

    static void assertMaxRelativeDifference(double[] expected, double[] actual, double scale, double tolerance,
                                            String what) {
        double largest = 0;
        for (int i = 0; i < expected.length; i++) {
            largest = Math.max(largest, Math.abs(actual[i] - expected[i]));
        }
        double relative = largest / Math.max(scale, Double.MIN_NORMAL);
        assertTrue(relative <= tolerance, what + ": largest difference " + largest + " is " + relative
                + " of the largest magnitude " + scale + ", above " + tolerance);
    }

    static double largestMagnitude(double[] values) {
        double largest = 0;
        for (double value : values) {
            largest = Math.max(largest, Math.abs(value));
        }
        return largest;
    }

    /**
     * One optimizer on the single-tensor path on the CPU and one on another path, possibly on another device, over
     * copies of the same parameters.
     */
    static final class SideBySide {
        final List<Tensor> reference = new ArrayList<>();
        final List<Tensor> tested = new ArrayList<>();
        final NAdamWCosineDecay single;
        final NAdamWCosineDecay fast;
        final ScalarType dtype;
        /** Per tensor, the largest magnitude the reference has held. */
        final double[] scales = new double[SHAPES.length];
        /** Tensor updates the tested optimizer reported per path, summed over the steps. */
        final java.util.Map<UpdatePath, Long> updates = new java.util.EnumMap<>(UpdatePath.class);

        SideBySide(NAdamWConfig config, ScalarType dtype, UpdatePath path, Random random) {
            this(config, dtype, path, random, new Device("cpu"));
        }

        SideBySide(NAdamWConfig config, ScalarType dtype, UpdatePath path, Random random, Device testedDevice) {
            this.dtype = dtype;
            for (long[] shape : SHAPES) {
                double[] values = TestTensors.gaussian(random, numel(shape), 1.0);
                reference.add(Tensor.create(values, shape).to(dtype).detach().set_requires_grad(true));
                tested.add(Tensor.create(values, shape).to(testedDevice, dtype).detach().set_requires_grad(true));
            }
            for (int i = 0; i < SHAPES.length; i++) {
                scales[i] = largestMagnitude(TestTensors.values(reference.get(i)));
            }
            single = optimizer(reference, config, UpdatePath.SINGLE_TENSOR);
            fast = optimizer(tested, config, path);
        }

        /** One step of both, with the same gradient for tensors {@code i} where {@code hasGradient(i)}. */
        void step(Random random, java.util.function.IntPredicate hasGradient) {
            try (PointerScope scope = new PointerScope()) {
                single.zeroGrad();
                fast.zeroGrad();
                for (int i = 0; i < SHAPES.length; i++) {
                    double[] grad = TestTensors.gaussian(random, numel(SHAPES[i]), 0.5 + i);
                    if (hasGradient.test(i)) {
                        TestTensors.setGrad(reference.get(i), grad);
                        TestTensors.setGrad(tested.get(i), grad);
                    }
                }
                single.step();
                fast.step();
            }
            for (UpdatePath.Report report : fast.lastStepUpdates()) {
                updates.merge(report.path(), (long) report.params().size(), Long::sum);
            }
        }

        /** The tensor updates {@code path} applied in the tested optimizer, from its reports. */
        long tensorUpdates(UpdatePath path) {
            return updates.getOrDefault(path, 0L);
        }

        void assertAgree(double tolerance, String when) {
            for (int i = 0; i < SHAPES.length; i++) {
                double[] expected = TestTensors.values(reference.get(i));
                scales[i] = Math.max(scales[i], largestMagnitude(expected));
                assertMaxRelativeDifference(expected, TestTensors.values(tested.get(i)), scales[i], tolerance,
                        "tensor " + i + " after " + when);
            }
        }

        void close() {
            single.close();
            fast.close();
        }

        private static int numel(long[] shape) {
            int n = 1;
            for (long size : shape) {
                n *= (int) size;
            }
            return n;
        }
    }
}
