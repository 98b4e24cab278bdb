package io.github.optlist.torch;

/**
 * How an optimizer runs the list's update, fixed at construction: which path applies it, what half-precision
 * parameters keep their state in, and whether steps with non-finite gradients are skipped. None of them changes
 * the math of a finite step beyond rounding. Immutable; build one with {@link #builder()} or change one field of
 * an existing one with {@code with…}:
 * <pre>{@code
 * OptimizerOptions options = OptimizerOptions.builder()
 *         .statePrecision(StatePrecision.FLOAT32_MASTER_WEIGHTS)
 *         .skipNonFiniteSteps(true)
 *         .build();
 * NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(model.parameters(), 0, steps,
 *         ListVariant.TASKSET, options));
 * }</pre>
 *
 * @param updatePath         the fastest path {@code step()} may use; where it cannot run on a tensor, the next
 *                           slower one is taken ({@link UpdatePath}); {@link UpdatePath#FUSED} by default
 * @param statePrecision     what float16 and bfloat16 parameters keep and compute their update in
 *                           ({@link StatePrecision}); float32 and float64 parameters are the same under every value;
 *                           {@link StatePrecision#FLOAT32} by default
 * @param skipNonFiniteSteps whether to check every gradient for NaN and infinity before a step and skip the whole
 *                           step when one is found, leaving parameters, moments and step counts unchanged; off by
 *                           default, when non-finite values flow into the parameters as the update formula says. The
 *                           check costs one host synchronization per step and device (a stall of the GPU's queue on
 *                           CUDA) plus one pass over the gradients
 */
public record OptimizerOptions(UpdatePath updatePath, StatePrecision statePrecision, boolean skipNonFiniteSteps) {

    /** The defaults: {@link UpdatePath#FUSED}, {@link StatePrecision#FLOAT32}, non-finite steps applied. */
    public static final OptimizerOptions DEFAULTS = new OptimizerOptions(UpdatePath.FUSED, StatePrecision.FLOAT32,
            false);

    /**
     * Validates.
     *
     * @throws IllegalArgumentException if {@code updatePath} or {@code statePrecision} is null
     */
    public OptimizerOptions {
        if (updatePath == null) {
            throw new IllegalArgumentException("updatePath must not be null");
        }
        if (statePrecision == null) {
            throw new IllegalArgumentException("statePrecision must not be null");
        }
    }

    /** A builder starting from {@link #DEFAULTS}. */
    public static Builder builder() {
        return new Builder(DEFAULTS);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * These options with another update path.
     *
     * @throws IllegalArgumentException if {@code path} is null
     */
    public OptimizerOptions withUpdatePath(UpdatePath path) {
        return new OptimizerOptions(path, statePrecision, skipNonFiniteSteps);
    }

    /**
     * These options with another state precision.
     *
     * @throws IllegalArgumentException if {@code precision} is null
     */
    public OptimizerOptions withStatePrecision(StatePrecision precision) {
        return new OptimizerOptions(updatePath, precision, skipNonFiniteSteps);
    }

    /** These options with non-finite steps skipped or not. */
    public OptimizerOptions withSkipNonFiniteSteps(boolean skip) {
        return new OptimizerOptions(updatePath, statePrecision, skip);
    }

    /** Builds {@link OptimizerOptions}; each setter refuses null with an {@link IllegalArgumentException}. */
    public static final class Builder {

        private UpdatePath updatePath;
        private StatePrecision statePrecision;
        private boolean skipNonFiniteSteps;

        private Builder(OptimizerOptions from) {
            this.updatePath = from.updatePath;
            this.statePrecision = from.statePrecision;
            this.skipNonFiniteSteps = from.skipNonFiniteSteps;
        }

        /** Sets {@link OptimizerOptions#updatePath()}. */
        public Builder updatePath(UpdatePath path) {
            if (path == null) {
                throw new IllegalArgumentException("updatePath must not be null");
            }
            this.updatePath = path;
            return this;
        }

        /** Sets {@link OptimizerOptions#statePrecision()}. */
        public Builder statePrecision(StatePrecision precision) {
            if (precision == null) {
                throw new IllegalArgumentException("statePrecision must not be null");
            }
            this.statePrecision = precision;
            return this;
        }

        /** Sets {@link OptimizerOptions#skipNonFiniteSteps()}. */
        public Builder skipNonFiniteSteps(boolean skip) {
            this.skipNonFiniteSteps = skip;
            return this;
        }

        /** The options set so far. */
        public OptimizerOptions build() {
            return new OptimizerOptions(updatePath, statePrecision, skipNonFiniteSteps);
        }
    }
}
