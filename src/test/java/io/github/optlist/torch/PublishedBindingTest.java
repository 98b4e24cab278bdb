package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.ReferenceNAdamW;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * {@code TorchOptList.optimizerForIdx} under each variant against the scalar reference of the published code it
 * names: TaskSet/TF v1 (min warm-up, Nesterov never) and the PyTorch/JAX bindings (max warm-up, Nesterov as the
 * entry says), for Nesterov and plain entries with and without warm-up, on every update path, in float64.
 */
class PublishedBindingTest {

    static final long TRAINING_STEPS = 40;

    static Stream<Arguments> cases() {
        List<Predicate<NAdamWConfig>> kinds = List.of(
                c -> c.useNesterov() && c.warmupFraction() > 0,
                c -> c.useNesterov() && c.warmupFraction() == 0,
                c -> !c.useNesterov() && c.warmupFraction() > 0,
                c -> !c.useNesterov() && c.warmupFraction() == 0,
                c -> c.useNesterov() && c.l2WeightDecay() > 0 && c.adamwWeightDecay() > 0);
        List<Arguments> arguments = new ArrayList<>();
        for (Predicate<NAdamWConfig> kind : kinds) {
            int idx = indexOfFirst(kind);
            for (ListVariant variant : ListVariant.values()) {
                for (UpdatePath path : UpdatePath.values()) {
                    arguments.add(Arguments.of(idx, variant, path));
                }
            }
        }
        return arguments.stream();
    }

    private static int indexOfFirst(Predicate<NAdamWConfig> kind) {
        for (int i = 0; i < OptList.size(); i++) {
            if (kind.test(OptList.config(i))) {
                return i;
            }
        }
        throw new AssertionError("no entry of that kind");
    }

    @ParameterizedTest(name = "entry {0} {1} {2}")
    @MethodSource("cases")
    void optimizerForIdxRunsThePublishedUpdateOfItsVariant(int idx, ListVariant variant, UpdatePath path) {
        NAdamWConfig entry = OptList.config(idx);
        Random random = new Random(idx * 7L + variant.ordinal());
        double[] initial = TestTensors.gaussian(random, 10, 1.0);
        ReferenceNAdamW reference = ReferenceNAdamW.publishedBinding(entry, TRAINING_STEPS, variant, initial);
        Tensor param = TestTensors.param(initial, 2, 5);
        try (NAdamWCosineDecay optimizer = TestTensors.forIdx(new TensorVector(param), idx, TRAINING_STEPS,
                variant, OptimizerOptions.DEFAULTS.withUpdatePath(path))) {
            assertEquals(variant == ListVariant.TORCH_PORT && entry.useNesterov(),
                    optimizer.paramGroups().get(0).config().useNesterov(), "the reported configuration");
            for (int step = 0; step < TRAINING_STEPS; step++) {
                double[] grad = TestTensors.gaussian(random, 10, 0.7);
                try (PointerScope scope = new PointerScope()) {
                    optimizer.zeroGrad();
                    TestTensors.setGrad(param, grad);
                    optimizer.step();
                }
                for (UpdatePath.Report update : optimizer.lastStepUpdates()) {
                    assertEquals(path, update.path(), "the path asked for runs: " + update);
                    assertFalse(update.fellBack(), update.fallbackReason());
                }
                reference.step(grad);
                NAdamWReferenceTest.assertClose(reference.params(), TestTensors.values(param),
                        "entry " + idx + " after step " + step);
            }
        }
    }
}
