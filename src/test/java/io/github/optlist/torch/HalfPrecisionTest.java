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
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Float16 and bfloat16 parameters against the float64 reference run from the same (rounded) start with the same
 * (rounded) gradients, small ones as late in training under a loss scale. The error of a tensor is the largest
 * distance of any element from the reference, as a fraction of the largest distance the reference moved any element
 * from the start: the rounding of the parameter itself, once per step, bounds what any update can reach.
 */
class HalfPrecisionTest {

    static final long TRAINING_STEPS = 40;
    static final int STEPS_RUN = 40;
    static final double GRADIENT_SCALE = 1e-4;
    /** The spread of the initial weights, as a layer of a few hundred inputs is initialized. */
    static final double INIT_SCALE = 0.05;
    static final long[][] SHAPES = {{257}, {16, 9}};

    /**
     * Tolerances per precision and dtype, about 1.5 to 2 times the largest error measured over every path and entry
     * here, both variants (float16 / bfloat16: 2.8 % / 35 % with FLOAT32, where the parameter's own rounding at each
     * step bounds it; 0.22 % / 1.7 % with master weights). The three paths gave the same errors to four digits.
     */
    static double tolerance(StatePrecision precision, ScalarType dtype) {
        boolean half = dtype.value == ScalarType.Half.value;
        return precision == StatePrecision.FLOAT32 ? (half ? 0.05 : 0.5) : (half ? 0.005 : 0.035);
    }

    /**
     * Entry 39, the first whose epsilon rounds to 0 in float16; a Nesterov entry with an L2 term and decoupled decay
     * (Nesterov under {@link ListVariant#TORCH_PORT}); entry 0.
     */
    static List<NAdamWConfig> entries() {
        NAdamWConfig nesterovL2 = OptList.configs().stream()
                .filter(c -> c.useNesterov() && c.l2WeightDecay() > 0 && c.adamwWeightDecay() > 0)
                .findFirst().orElseThrow();
        return List.of(OptList.config(39), nesterovL2, OptList.config(0));
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        StatePrecision[] float32Modes = {StatePrecision.FLOAT32, StatePrecision.FLOAT32_MASTER_WEIGHTS};
        ScalarType[] dtypes = {ScalarType.Half, ScalarType.BFloat16};
        for (NAdamWConfig config : entries()) {
            for (ListVariant variant : ListVariant.values()) {
                for (UpdatePath path : UpdatePath.values()) {
                    for (ScalarType dtype : dtypes) {
                        for (StatePrecision precision : float32Modes) {
                            cases.add(Arguments.of(config, variant, path, dtype, precision));
                        }
                    }
                }
            }
        }
        return cases.stream();
    }

    @Test
    void entry39HasAnEpsilonThatRoundsToZeroInFloat16() {
        double epsilon = OptList.config(39).epsilon();
        assertEquals(0.0, TestTensors.values(Tensor.create(new double[]{epsilon}, 1).to(ScalarType.Half))[0]);
        assertTrue(OptList.configs().subList(0, 39).stream().allMatch(c ->
                TestTensors.values(Tensor.create(new double[]{c.epsilon()}, 1).to(ScalarType.Half))[0] > 0));
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} {4}")
    @MethodSource("cases")
    void halfPrecisionParametersFollowTheFloat64Reference(NAdamWConfig config, ListVariant variant, UpdatePath path,
                                                          ScalarType dtype, StatePrecision precision) {
        double[] errors = run(config, variant, path, dtype, precision);
        for (int i = 0; i < errors.length; i++) {
            assertTrue(errors[i] <= tolerance(precision, dtype), "tensor " + i + ": " + errors[i]
                    + " of the reference's movement, above " + tolerance(precision, dtype));
        }
    }

    /**
     * The error of each tensor after running list entry {@code config} as {@code variant} runs it (TASKSET drops
     * Nesterov, TORCH_PORT keeps it); see the class description.
     */
    static double[] run(NAdamWConfig config, ListVariant variant, UpdatePath path, ScalarType dtype,
                        StatePrecision precision) {
        Random random = new Random(config.name().hashCode() + 31L * dtype.value);
        List<Tensor> params = new ArrayList<>();
        List<double[]> starts = new ArrayList<>();
        List<ReferenceNAdamW> references = new ArrayList<>();
        for (long[] shape : SHAPES) {
            Tensor p = Tensor.create(TestTensors.gaussian(random, numel(shape), INIT_SCALE), shape).to(dtype).detach()
                    .set_requires_grad(true);
            double[] start = TestTensors.values(p);
            params.add(p);
            starts.add(start);
            references.add(ReferenceNAdamW.publishedBinding(config, TRAINING_STEPS, variant, start));
        }
        try (NAdamWCosineDecay optimizer = TestTensors.optimizer(List.of(ParamGroup.of(params,
                variant.apply(config))), TRAINING_STEPS, variant,
                OptimizerOptions.builder().updatePath(path).statePrecision(precision).build())) {
            for (int step = 0; step < STEPS_RUN; step++) {
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zeroGrad();
                    for (int i = 0; i < params.size(); i++) {
                        Tensor grad = Tensor.create(TestTensors.gaussian(random, numel(SHAPES[i]), GRADIENT_SCALE),
                                SHAPES[i]).to(dtype);
                        params.get(i).mutable_grad().put(grad);
                        references.get(i).step(TestTensors.values(grad));
                    }
                    optimizer.step();
                }
            }
            UpdatePath.Report update = optimizer.lastStepUpdates().get(0);
            assertEquals(path, update.path(), update.fallbackReason());
            assertEquals(precision == StatePrecision.PARAM_DTYPE ? dtype.name() : "Float", update.stateDtype());
        }
        double[] errors = new double[params.size()];
        for (int i = 0; i < params.size(); i++) {
            double[] expected = references.get(i).params();
            double[] actual = TestTensors.values(params.get(i));
            double moved = 0;
            double error = 0;
            for (int e = 0; e < expected.length; e++) {
                moved = Math.max(moved, Math.abs(expected[e] - starts.get(i)[e]));
                error = Math.max(error, Math.abs(actual[e] - expected[e]));
            }
            errors[i] = error / moved;
        }
        return errors;
    }

    static int numel(long[] shape) {
        int n = 1;
        for (long size : shape) {
            n *= (int) size;
        }
        return n;
    }

    @Test
    void paramDtypePrecisionKeepsTheStateInTheParametersDtypeAsTorchDoes() {
        Tensor p = Tensor.create(new double[]{1, -2, 3}, 3).to(ScalarType.BFloat16).detach().set_requires_grad(true);
        try (var optimizer = TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), OptList.config(0))), 10,
                ListVariant.TASKSET, OptimizerOptions.DEFAULTS.withStatePrecision(StatePrecision.PARAM_DTYPE))) {
            p.mutable_grad().put(Tensor.create(new double[]{0.5, 0.5, 0.5}, 3).to(ScalarType.BFloat16));
            optimizer.step();
            assertEquals("BFloat16", optimizer.lastStepUpdates().get(0).stateDtype());
            assertEquals(UpdatePath.FUSED, optimizer.lastStepUpdates().get(0).path());
        }
    }

    @Test
    void float32ParametersAreTheSameUnderEveryPrecision() {
        List<double[]> results = new ArrayList<>();
        for (StatePrecision precision : StatePrecision.values()) {
            Tensor p = TestTensors.param(new double[]{1, -2, 3, 0.5}, 4).to(ScalarType.Float).detach()
                    .set_requires_grad(true);
            try (var optimizer = TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), OptList.config(1))), 10,
                    ListVariant.TASKSET, OptimizerOptions.DEFAULTS.withStatePrecision(precision))) {
                for (int step = 0; step < 3; step++) {
                    p.mutable_grad().put(Tensor.create(new double[]{0.1, -0.2, 0.3, step}, 4).to(ScalarType.Float));
                    optimizer.step();
                }
                assertEquals("Float", optimizer.lastStepUpdates().get(0).stateDtype());
            }
            results.add(TestTensors.values(p));
        }
        for (double[] result : results) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(results.get(0), result);
        }
    }

    @Test
    void precisionIsFixedAtConstructionAndRuns() {
        assertThrows(IllegalArgumentException.class, () -> OptimizerOptions.builder().statePrecision(null));
        for (StatePrecision precision : StatePrecision.values()) {
            Tensor p = Tensor.create(new double[]{1, 2}, 2).to(ScalarType.Half).detach().set_requires_grad(true);
            try (var optimizer = TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), OptList.config(0))), 10,
                    ListVariant.TASKSET, OptimizerOptions.builder().statePrecision(precision).build())) {
                p.mutable_grad().put(Tensor.create(new double[]{1, 1}, 2).to(ScalarType.Half));
                optimizer.step();
                assertEquals(precision, optimizer.options().statePrecision());
                assertEquals(precision == StatePrecision.PARAM_DTYPE ? "Half" : "Float",
                        optimizer.lastStepUpdates().get(0).stateDtype(), precision.toString());
                assertEquals(precision == StatePrecision.FLOAT32_MASTER_WEIGHTS,
                        optimizer.stateDict(p).master() != null, precision + " keeps a master copy");
            }
        }
    }
}
