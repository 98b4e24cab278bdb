package io.github.optlist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.DoubleFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NAdamWConfigTest {

    static NAdamWConfig valid() {
        return new NAdamWConfig("valid", 1e-3, 0.9, 0.999, 1e-8, false, 0.0, 0.0, 0.0, 0.0, 0.5, true);
    }

    static Stream<Arguments> outOfRange() {
        NAdamWConfig v = valid();
        DoubleFunction<NAdamWConfig> lr = x ->
                new NAdamWConfig("c", x, v.beta1(), v.beta2(), v.epsilon(), false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> beta1 = x ->
                new NAdamWConfig("c", 1e-3, x, v.beta2(), v.epsilon(), false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> beta2 = x ->
                new NAdamWConfig("c", 1e-3, v.beta1(), x, v.epsilon(), false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> eps = x ->
                new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), x, false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> adamw = x ->
                new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, x, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> l2 = x ->
                new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, x, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> warmup = x ->
                new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, 0, x, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> minMult = x ->
                new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, 0, 0, x, 0.5, true);
        DoubleFunction<NAdamWConfig> constant = x ->
                new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, 0, 0, 0, x, true);
        return Stream.of(
                Arguments.of("learningRate", lr, -1e-3), Arguments.of("learningRate", lr, Double.NaN),
                Arguments.of("learningRate", lr, Double.POSITIVE_INFINITY),
                Arguments.of("beta1", beta1, -0.1), Arguments.of("beta1", beta1, 1.0),
                Arguments.of("beta1", beta1, Double.NaN),
                Arguments.of("beta2", beta2, 1.0), Arguments.of("beta2", beta2, -1e-9),
                Arguments.of("epsilon", eps, -1e-8), Arguments.of("epsilon", eps, Double.NaN),
                Arguments.of("adamwWeightDecay", adamw, -0.01), Arguments.of("adamwWeightDecay", adamw, Double.NaN),
                Arguments.of("l2WeightDecay", l2, -0.01), Arguments.of("l2WeightDecay", l2, Double.POSITIVE_INFINITY),
                Arguments.of("warmupFraction", warmup, -0.1), Arguments.of("warmupFraction", warmup, 1.5),
                Arguments.of("minLearningRateMult", minMult, 1.01),
                Arguments.of("minLearningRateMult", minMult, Double.NaN),
                Arguments.of("constantFraction", constant, -1e-9), Arguments.of("constantFraction", constant, 2.0));
    }

    @ParameterizedTest(name = "{0} = {2}")
    @MethodSource("outOfRange")
    void outOfRangeValueIsRefusedNamingFieldAndValue(String field, DoubleFunction<NAdamWConfig> build, double value) {
        var e = assertThrows(IllegalArgumentException.class, () -> build.apply(value));
        assertTrue(e.getMessage().contains(field) && e.getMessage().contains(String.valueOf(value)), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("io.github.optlist.NAdamWConfigTest#edgeValues")
    void boundaryValuesAreAccepted(NAdamWConfig config) {
        assertTrue(config.learningRate() >= 0);
    }

    static Stream<NAdamWConfig> edgeValues() {
        return Stream.of(
                new NAdamWConfig("zero", 0, 0, 0, 0, true, 0, 0, 0, 0, 0, false),
                new NAdamWConfig("ones", 1, 0.999999, 0.999999, 1e4, false, 1, 1, 1, 1, 1, true));
    }

    @Test
    void nullNameIsRefusedWithIllegalArgumentExceptionAsDocumented() {
        var constructor = assertThrows(IllegalArgumentException.class,
                () -> new NAdamWConfig(null, 1e-3, 0.9, 0.999, 1e-8, false, 0, 0, 0, 0, 0.5, true));
        assertEquals("name must not be null", constructor.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NAdamWConfig.builder(null));
        assertThrows(IllegalArgumentException.class, () -> NAdamWConfig.builder("x").name(null));
        assertThrows(IllegalArgumentException.class, () -> valid().toBuilder().name(null));
    }

    @Test
    void builderDefaultsAreThoseOfThePublishedTorchConstructor() {
        // torch_opt_list.NadamWCosineDecay(params): lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay, bias correction,
        // no Nesterov, constant_fraction 1, warmup_fraction 0, min_learning_rate_mult 1.
        assertEquals(new NAdamWConfig("d", 1e-3, 0.9, 0.999, 1e-8, false, 0.0, 0.0, 0.0, 1.0, 1.0, true),
                NAdamWConfig.builder("d").build());
    }

    @Test
    void builderSetsEveryComponentByName() {
        NAdamWConfig built = NAdamWConfig.builder("first").name("custom")
                .learningRate(3e-4).betas(0.8, 0.99).epsilon(1e-6).nesterov(true)
                .adamwWeightDecay(1e-4).l2WeightDecay(2e-5)
                .warmupFraction(0.05).minLearningRateMult(0.01).constantFraction(0.2)
                .biasCorrection(false)
                .build();
        assertEquals(new NAdamWConfig("custom", 3e-4, 0.8, 0.99, 1e-6, true, 1e-4, 2e-5, 0.05, 0.01, 0.2, false),
                built);
        assertEquals(0.7, NAdamWConfig.builder("b").beta1(0.7).build().beta1());
        assertEquals(0.95, NAdamWConfig.builder("b").beta2(0.95).build().beta2());
    }

    @ParameterizedTest(name = "{0} = {2}")
    @MethodSource("outOfRangeByBuilder")
    void builderRefusesOutOfRangeValuesAtBuildNamingFieldAndValue(String field,
                                                                 DoubleFunction<NAdamWConfig.Builder> set,
                                                                 double value) {
        NAdamWConfig.Builder builder = set.apply(value);
        var e = assertThrows(IllegalArgumentException.class, builder::build);
        assertTrue(e.getMessage().contains(field) && e.getMessage().contains(String.valueOf(value)), e.getMessage());
    }

    static Stream<Arguments> outOfRangeByBuilder() {
        DoubleFunction<NAdamWConfig.Builder> lr = x -> NAdamWConfig.builder("c").learningRate(x);
        DoubleFunction<NAdamWConfig.Builder> beta2 = x -> NAdamWConfig.builder("c").betas(0.9, x);
        DoubleFunction<NAdamWConfig.Builder> eps = x -> NAdamWConfig.builder("c").epsilon(x);
        DoubleFunction<NAdamWConfig.Builder> constant = x -> NAdamWConfig.builder("c").constantFraction(x);
        return Stream.of(Arguments.of("learningRate", lr, -1.0), Arguments.of("beta2", beta2, 1.0),
                Arguments.of("epsilon", eps, Double.NaN), Arguments.of("constantFraction", constant, 2.0));
    }

    @Test
    void toBuilderRebuildsEveryListEntryExactly() {
        for (NAdamWConfig entry : OptList.configs()) {
            assertEquals(entry, entry.toBuilder().build());
        }
    }

    @Test
    void toBuilderChangesOnlyWhatIsSet() {
        NAdamWConfig entry = OptList.config(3);
        NAdamWConfig tweaked = entry.toBuilder().learningRate(1e-3).build();
        assertEquals(1e-3, tweaked.learningRate());
        assertEquals(entry, tweaked.toBuilder().learningRate(entry.learningRate()).build());
    }

    @Test
    void toBuilderSettersChangeOnlyTheirComponentAndKeepTheName() {
        NAdamWConfig v = new NAdamWConfig("v", 1e-3, 0.9, 0.999, 1e-8, false, 1e-4, 2e-5, 0.1, 0.01, 0.5, true);
        assertEquals(new NAdamWConfig("w", 1e-3, 0.9, 0.999, 1e-8, false, 1e-4, 2e-5, 0.1, 0.01, 0.5, true),
                v.toBuilder().name("w").build());
        assertEquals(new NAdamWConfig("v", 2e-3, 0.9, 0.999, 1e-8, false, 1e-4, 2e-5, 0.1, 0.01, 0.5, true),
                v.toBuilder().learningRate(2e-3).build());
        assertEquals(new NAdamWConfig("v", 1e-3, 0.8, 0.99, 1e-8, false, 1e-4, 2e-5, 0.1, 0.01, 0.5, true),
                v.toBuilder().betas(0.8, 0.99).build());
        assertEquals(new NAdamWConfig("v", 1e-3, 0.9, 0.999, 1e-3, false, 1e-4, 2e-5, 0.1, 0.01, 0.5, true),
                v.toBuilder().epsilon(1e-3).build());
        assertEquals(new NAdamWConfig("v", 1e-3, 0.9, 0.999, 1e-8, true, 1e-4, 2e-5, 0.1, 0.01, 0.5, true),
                v.toBuilder().nesterov(true).build());
        assertEquals(new NAdamWConfig("v", 1e-3, 0.9, 0.999, 1e-8, false, 0.3, 2e-5, 0.1, 0.01, 0.5, true),
                v.toBuilder().adamwWeightDecay(0.3).build());
        assertEquals(new NAdamWConfig("v", 1e-3, 0.9, 0.999, 1e-8, false, 1e-4, 0.3, 0.1, 0.01, 0.5, true),
                v.toBuilder().l2WeightDecay(0.3).build());
        assertEquals(new NAdamWConfig("v", 1e-3, 0.9, 0.999, 1e-8, false, 1e-4, 2e-5, 0.1, 0.01, 0.5, false),
                v.toBuilder().biasCorrection(false).build());
    }

    @Test
    void toBuilderValidatesTheNewValueAtBuild() {
        assertThrows(IllegalArgumentException.class, () -> valid().toBuilder().betas(0.9, 1.0).build());
        assertThrows(IllegalArgumentException.class, () -> valid().toBuilder().epsilon(-1).build());
        assertThrows(IllegalArgumentException.class, () -> valid().toBuilder().adamwWeightDecay(Double.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> valid().toBuilder().l2WeightDecay(-1e-3).build());
    }

    @Test
    void adamIsTorchStyleAdamAtAConstantLearningRate() {
        NAdamWConfig adam = NAdamWConfig.adam(3e-4);
        assertEquals(new NAdamWConfig("adam", 3e-4, 0.9, 0.999, 1e-8, false, 0.0, 0.0, 0.0, 1.0, 1.0, true), adam);
        assertFalse(adam.useNesterov());
        for (long step : new long[] {0, 1, 50, 99, 100, 500}) {
            assertEquals(3e-4, CosineSchedule.learningRate(adam, step, 100, ListVariant.TASKSET), 0.0);
            assertEquals(3e-4, CosineSchedule.learningRate(adam, step, 100, ListVariant.TORCH_PORT), 0.0);
        }
        assertThrows(IllegalArgumentException.class, () -> NAdamWConfig.adam(-1e-3));
    }
}
