package io.github.optlist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** How a published entry becomes the configuration that runs under each variant (the shared README's table). */
class ListVariantTest {

    @Test
    void tasksetRunsEveryEntryWithoutNesterovAndOtherwiseAsPublished() {
        for (int i = 0; i < OptList.size(); i++) {
            NAdamWConfig entry = OptList.config(i);
            NAdamWConfig runs = OptList.config(i, ListVariant.TASKSET);
            assertFalse(runs.useNesterov(), entry.name());
            assertEquals(entry, runs.toBuilder().nesterov(entry.useNesterov()).build(), entry.name());
        }
    }

    @Test
    void torchPortRunsEveryEntryExactlyAsPublished() {
        for (int i = 0; i < OptList.size(); i++) {
            assertSame(OptList.config(i), OptList.config(i, ListVariant.TORCH_PORT));
        }
    }

    @Test
    void theVariantsDisagreeOnNesterovForTheEntriesThatAskForIt() {
        long differing = OptList.configs().stream()
                .filter(c -> !ListVariant.TASKSET.apply(c).equals(ListVariant.TORCH_PORT.apply(c))).count();
        long nesterovEntries = OptList.configs().stream().filter(NAdamWConfig::useNesterov).count();
        assertEquals(nesterovEntries, differing);
        assertEquals(502, nesterovEntries, "the issue counted 502 Nesterov entries in the published list");
        assertEquals(4, OptList.configs().subList(0, 10).stream().filter(NAdamWConfig::useNesterov).count());
    }

    @Test
    void warmupLengthIsTheMinimumUnderTasksetAndTheMaximumUnderTorchPort() {
        NAdamWConfig c = new NAdamWConfig("w", 0.1, 0.9, 0.99, 1e-8, false, 0, 0, 0.05, 0, 0.3, true);
        assertEquals(0.05, ListVariant.TASKSET.warmupFraction(c));
        assertEquals(0.3, ListVariant.TORCH_PORT.warmupFraction(c));
        NAdamWConfig longWarmup = new NAdamWConfig("w", 0.1, 0.9, 0.99, 1e-8, false, 0, 0, 0.5, 0, 0.3, true);
        assertEquals(0.3, ListVariant.TASKSET.warmupFraction(longWarmup));
        assertEquals(0.5, ListVariant.TORCH_PORT.warmupFraction(longWarmup));
    }

    @ParameterizedTest
    @EnumSource(ListVariant.class)
    void anEntryWithoutWarmupHasNoneUnderEitherVariant(ListVariant variant) {
        NAdamWConfig c = new NAdamWConfig("none", 0.1, 0.9, 0.99, 1e-8, false, 0, 0, 0, 0, 0.6, true);
        assertEquals(0.0, variant.warmupFraction(c));
        assertEquals(0.1, CosineSchedule.learningRate(c, 0, 100, variant));
    }

    @ParameterizedTest
    @EnumSource(ListVariant.class)
    void nullIsRefused(ListVariant variant) {
        assertThrows(IllegalArgumentException.class, () -> variant.apply(null));
        assertThrows(IllegalArgumentException.class, () -> variant.warmupFraction(null));
        assertThrows(IllegalArgumentException.class, () -> OptList.config(0, null));
    }

    @Test
    void aCustomConfigIsNotChangedByTorchPortAndLosesOnlyNesterovUnderTaskset() {
        NAdamWConfig custom = new NAdamWConfig("mine", 0.01, 0.9, 0.999, 1e-8, true, 0.01, 0.001, 0.1, 0.01, 0.5,
                true);
        assertSame(custom, ListVariant.TORCH_PORT.apply(custom));
        assertEquals(List.of(false, "mine"), List.of(ListVariant.TASKSET.apply(custom).useNesterov(),
                ListVariant.TASKSET.apply(custom).name()));
    }
}
