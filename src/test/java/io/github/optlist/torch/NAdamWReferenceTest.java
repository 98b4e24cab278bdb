package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.ReferenceNAdamW;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor optimizer in float64, on each update path, against the scalar reference written from the published
 * formulas.
 */
class NAdamWReferenceTest {

    static final double TOLERANCE = 1e-12;
    static final long TRAINING_STEPS = 24;
    static final int STEPS_RUN = 30; // past the end of the schedule

    /** List entries of every kind, plus custom ones whose warm-up and decay span several of the few steps run. */
    static Stream<Arguments> cases() {
        List<NAdamWConfig> configs = new ArrayList<>();
        IntStream.range(0, 8).mapToObj(OptList::config).forEach(configs::add);
        addFirstMatching(configs, c -> c.useNesterov() && c.l2WeightDecay() > 0);
        addFirstMatching(configs, c -> !c.useNesterov() && c.l2WeightDecay() > 0);
        addFirstMatching(configs, c -> c.warmupFraction() > 0.05);
        addFirstMatching(configs, c -> c.minLearningRateMult() > 0.1 && c.useNesterov());
        addFirstMatching(configs, c -> c.epsilon() > 100);
        addFirstMatching(configs, c -> c.constantFraction() > 0.95);
        for (boolean nesterov : new boolean[]{false, true}) {
            configs.add(new NAdamWConfig("custom-warmup-longer-than-constant", 0.05, 0.9, 0.99, 1e-6, nesterov,
                    0.02, 0.01, 0.4, 0.1, 0.2, true));
            configs.add(new NAdamWConfig("custom-warmup-then-constant", 0.03, 0.8, 0.999, 1e-3, nesterov,
                    0.05, 0.03, 0.25, 0.01, 0.6, true));
            configs.add(new NAdamWConfig("custom-no-bias-correction", 0.01, 0.5, 0.9, 1e-2, nesterov,
                    0.0, 0.0, 0.0, 0.0, 1.0, false));
        }
        List<Arguments> arguments = new ArrayList<>();
        for (NAdamWConfig config : configs) {
            for (ListVariant variant : ListVariant.values()) {
                for (UpdatePath path : UpdatePath.values()) {
                    arguments.add(Arguments.of(config, variant, path));
                }
            }
        }
        return arguments.stream();
    }

    private static void addFirstMatching(List<NAdamWConfig> configs, Predicate<NAdamWConfig> kind) {
        configs.add(OptList.configs().stream().filter(kind).findFirst().orElseThrow());
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void float64UpdateMatchesScalarReference(NAdamWConfig config, ListVariant variant, UpdatePath path) {
        Random random = new Random(config.name().hashCode() * 31L + variant.ordinal());
        double[] a0 = TestTensors.gaussian(random, 12, 1.0);
        double[] b0 = TestTensors.gaussian(random, 7, 1.0);
        ReferenceNAdamW refA = new ReferenceNAdamW(config, TRAINING_STEPS, variant, a0);
        ReferenceNAdamW refB = new ReferenceNAdamW(config, TRAINING_STEPS, variant, b0);
        Tensor a = TestTensors.param(a0, 3, 4);
        Tensor b = TestTensors.param(b0, 7);
        try (NAdamWCosineDecay optimizer = TestTensors.optimizer(List.of(ParamGroup.of(List.of(a, b), config)),
                TRAINING_STEPS, variant, OptimizerOptions.DEFAULTS.withUpdatePath(path))) {
            long updates = 0;
            for (int step = 0; step < STEPS_RUN; step++) {
                double[] gradA = TestTensors.gaussian(random, 12, 0.5);
                double[] gradB = TestTensors.gaussian(random, 7, 2.0);
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zeroGrad();
                    TestTensors.setGrad(a, gradA);
                    TestTensors.setGrad(b, gradB);
                    optimizer.step();
                }
                for (UpdatePath.Report report : optimizer.lastStepUpdates()) {
                    updates += report.path() == path ? report.params().size() : 0;
                }
                refA.step(gradA);
                refB.step(gradB);
                assertClose(refA.params(), TestTensors.values(a), "a after step " + step);
                assertClose(refB.params(), TestTensors.values(b), "b after step " + step);
            }
            assertEquals(2L * STEPS_RUN, updates, "updates on the " + path + " path");
        }
    }

    static void assertClose(double[] expected, double[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            double scale = Math.max(Math.abs(expected[i]), 1e-3);
            double error = Math.abs(actual[i] - expected[i]) / scale;
            int index = i;
            assertTrue(error <= TOLERANCE, () -> what + "[" + index + "]: expected " + expected[index] + " got "
                    + actual[index] + " (relative error " + error + ")");
        }
    }
}
