package io.github.optlist;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.DoubleFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NAdamWConfigTest {

    static NAdamWConfig valid() {
        return new NAdamWConfig("valid", 1e-3, 0.9, 0.999, 1e-8, false, 0.0, 0.0, 0.0, 0.0, 0.5, true);
    }

    static Stream<Arguments> outOfRange() {
        NAdamWConfig v = valid();
        DoubleFunction<NAdamWConfig> lr = x -> new NAdamWConfig("c", x, v.beta1(), v.beta2(), v.epsilon(), false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> beta1 = x -> new NAdamWConfig("c", 1e-3, x, v.beta2(), v.epsilon(), false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> beta2 = x -> new NAdamWConfig("c", 1e-3, v.beta1(), x, v.epsilon(), false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> eps = x -> new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), x, false, 0, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> adamw = x -> new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, x, 0, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> l2 = x -> new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, x, 0, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> warmup = x -> new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, 0, x, 0, 0.5, true);
        DoubleFunction<NAdamWConfig> minMult = x -> new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, 0, 0, x, 0.5, true);
        DoubleFunction<NAdamWConfig> constant = x -> new NAdamWConfig("c", 1e-3, v.beta1(), v.beta2(), 1e-8, false, 0, 0, 0, 0, x, true);
        return Stream.of(
                Arguments.of("learningRate", lr, -1e-3), Arguments.of("learningRate", lr, Double.NaN),
                Arguments.of("learningRate", lr, Double.POSITIVE_INFINITY),
                Arguments.of("beta1", beta1, -0.1), Arguments.of("beta1", beta1, 1.0), Arguments.of("beta1", beta1, Double.NaN),
                Arguments.of("beta2", beta2, 1.0), Arguments.of("beta2", beta2, -1e-9),
                Arguments.of("epsilon", eps, -1e-8), Arguments.of("epsilon", eps, Double.NaN),
                Arguments.of("adamwWeightDecay", adamw, -0.01), Arguments.of("adamwWeightDecay", adamw, Double.NaN),
                Arguments.of("l2WeightDecay", l2, -0.01), Arguments.of("l2WeightDecay", l2, Double.POSITIVE_INFINITY),
                Arguments.of("warmupFraction", warmup, -0.1), Arguments.of("warmupFraction", warmup, 1.5),
                Arguments.of("minLearningRateMult", minMult, 1.01), Arguments.of("minLearningRateMult", minMult, Double.NaN),
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
}
