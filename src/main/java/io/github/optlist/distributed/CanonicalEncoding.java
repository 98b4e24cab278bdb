package io.github.optlist.distributed;

import io.github.optlist.NAdamWConfig;
import io.github.optlist.torch.OptimizerOptions;

import java.util.ArrayList;
import java.util.List;

/**
 * Values as plain numbers, equal for equal values on every JVM and different for different ones (every field
 * encoded, doubles by their bits, strings by their characters): what ranks all-reduce to agree on a configuration
 * without trusting a hash ({@link SmallCollectives}).
 */
final class CanonicalEncoding {

    private CanonicalEncoding() {
    }

    /** Every field of {@code config}, the name included, in declaration order. */
    static long[] of(NAdamWConfig config) {
        List<Long> out = new ArrayList<>();
        string(out, config.name());
        for (double value : new double[]{config.learningRate(), config.beta1(), config.beta2(), config.epsilon(),
                config.adamwWeightDecay(), config.l2WeightDecay(), config.warmupFraction(),
                config.minLearningRateMult(), config.constantFraction()}) {
            out.add(Double.doubleToLongBits(value));
        }
        out.add(config.useNesterov() ? 1L : 0L);
        out.add(config.useBiasCorrection() ? 1L : 0L);
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Every field of {@code options}. */
    static long[] of(OptimizerOptions options) {
        return new long[]{options.updatePath().ordinal(), options.statePrecision().ordinal(),
                options.skipNonFiniteSteps() ? 1 : 0};
    }

    /** The length, then one entry per UTF-16 unit, so that no two strings share an encoding. */
    private static void string(List<Long> out, String value) {
        out.add((long) value.length());
        for (int i = 0; i < value.length(); i++) {
            out.add((long) value.charAt(i));
        }
    }
}
