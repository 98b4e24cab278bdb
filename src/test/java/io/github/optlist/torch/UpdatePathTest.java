package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    /** The first list entry of each kind (Nesterov or not, each mix of weight decays), and one without bias correction. */
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
                && c.beta1() < FusedUpdate.SMALLEST_BETA1_TO_EXTRAPOLATE);
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
        assertEquals(SHAPES.length * (long) STEPS_RUN, run.fast.tensorUpdates(path), "updates on the " + path + " path");
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
        assertTrue(run.fast.tensorUpdates(UpdatePath.FUSED) > 0);
        run.close();
    }

    @Test
    void nonContiguousParametersTakeTheMultiTensorPath() {
        NAdamWConfig config = OptList.config(0);
        Random random = new Random(5);
        double[] values = TestTensors.gaussian(random, 24, 1.0);
        Tensor single = Tensor.create(values, 4, 6).t().detach().set_requires_grad(true);
        Tensor fused = Tensor.create(values, 4, 6).t().detach().set_requires_grad(true);
        assertTrue(!fused.is_contiguous());
        try (var singleOpt = optimizer(List.of(single), config, UpdatePath.SINGLE_TENSOR);
             var fusedOpt = optimizer(List.of(fused), config, UpdatePath.FUSED)) {
            for (int step = 0; step < 5; step++) {
                double[] grad = TestTensors.gaussian(random, 24, 1.0);
                try (PointerScope scope = new PointerScope()) {
                    single.mutable_grad().put(Tensor.create(grad, 4, 6).t());
                    fused.mutable_grad().put(Tensor.create(grad, 4, 6).t());
                    singleOpt.step();
                    fusedOpt.step();
                }
            }
            assertMaxRelativeDifference(TestTensors.values(single), TestTensors.values(fused), FLOAT64_TOLERANCE,
                    "transposed parameter");
            assertEquals(0, fusedOpt.tensorUpdates(UpdatePath.FUSED));
            assertEquals(5, fusedOpt.tensorUpdates(UpdatePath.MULTI_TENSOR));
        }
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
        assertEquals(0, run.fast.tensorUpdates(UpdatePath.FUSED));
        assertEquals(3L * SHAPES.length, run.fast.tensorUpdates(UpdatePath.MULTI_TENSOR));
        run.close();
    }

    @Test
    void singleTensorPathUsesNoOtherPath() {
        Random random = new Random(2);
        SideBySide run = new SideBySide(OptList.config(0), ScalarType.Double, UpdatePath.SINGLE_TENSOR, random);
        run.step(random, i -> true);
        assertEquals(SHAPES.length, run.fast.tensorUpdates(UpdatePath.SINGLE_TENSOR));
        assertEquals(0, run.fast.tensorUpdates(UpdatePath.FUSED) + run.fast.tensorUpdates(UpdatePath.MULTI_TENSOR));
        run.close();
    }

    private static NAdamWCosineDecay optimizer(List<Tensor> params, NAdamWConfig config, UpdatePath path) {
        NAdamWCosineDecay optimizer = new NAdamWCosineDecay(List.of(ParamGroup.of(params, config)), TRAINING_STEPS,
                ListVariant.TASKSET);
        optimizer.setUpdatePath(path);
        return optimizer;
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
