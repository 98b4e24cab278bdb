package io.github.optlist.distributed;

import io.github.optlist.OptList;
import io.github.optlist.torch.OptimizerOptions;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The encoding ranks all-reduce to agree on configurations and options: equal values alike, every field counted. */
class CanonicalEncodingTest {

    @Test
    void canonicalEncodingTellsEveryFieldApart() {
        var config = OptList.config(3);
        long[] base = CanonicalEncoding.of(config);
        assertArrayEquals(base, CanonicalEncoding.of(config.toBuilder().build()));
        for (var other : List.of(config.toBuilder().name(config.name() + "x").build(),
                config.toBuilder().learningRate(config.learningRate() * (1 + 1e-15)).build(),
                config.toBuilder().betas(config.beta1(), 0.5).build(), config.toBuilder().epsilon(1e-30).build(),
                config.toBuilder().nesterov(!config.useNesterov()).build(),
                config.toBuilder().adamwWeightDecay(0.125).build(), config.toBuilder().l2WeightDecay(0.25).build(),
                config.toBuilder().biasCorrection(!config.useBiasCorrection()).build())) {
            assertFalse(Arrays.equals(base, CanonicalEncoding.of(other)), other.toString());
        }
        assertFalse(Arrays.equals(CanonicalEncoding.of(OptimizerOptions.DEFAULTS),
                CanonicalEncoding.of(OptimizerOptions.DEFAULTS.withSkipNonFiniteSteps(true))));
    }
}
