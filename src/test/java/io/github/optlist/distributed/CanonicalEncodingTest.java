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
        assertArrayEquals(base, CanonicalEncoding.of(config.withName(config.name())));
        for (var other : List.of(config.withName(config.name() + "x"), config.withLearningRate(config.learningRate()
                        * (1 + 1e-15)), config.withBetas(config.beta1(), 0.5), config.withEpsilon(1e-30),
                config.withNesterov(!config.useNesterov()), config.withAdamwWeightDecay(0.125),
                config.withL2WeightDecay(0.25), config.withBiasCorrection(!config.useBiasCorrection()))) {
            assertFalse(Arrays.equals(base, CanonicalEncoding.of(other)), other.toString());
        }
        assertFalse(Arrays.equals(CanonicalEncoding.of(OptimizerOptions.DEFAULTS),
                CanonicalEncoding.of(OptimizerOptions.DEFAULTS.withSkipNonFiniteSteps(true))));
    }
}
