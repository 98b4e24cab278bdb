package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The path decision asked directly with made-up facts: no tensor, no device. */
class PathDecisionTest {

    static final int FLOAT = ScalarType.Float.value;
    static final int HALF = ScalarType.Half.value;
    static final NAdamWConfig CONFIG = OptList.config(0);

    static PathDecision.Facts facts(boolean cpuOrCuda, int dtype, int stateDtype, int gradDtype, boolean dense,
                                    boolean laidOut) {
        return new PathDecision.Facts("params[1] of group 2", cpuOrCuda ? "cuda:1" : "xla:0", cpuOrCuda, dtype,
                stateDtype, gradDtype, dense, new long[]{1, 4}, laidOut, laidOut ? null : new long[]{3, 1});
    }

    static PathDecision.PathChoice fused(PathDecision.Facts facts) {
        return PathDecision.choose(UpdatePath.FUSED, true, facts, CONFIG, 0, 1e-3);
    }

    @Test
    void fusedRunsAsAskedOnADenseMatchingParameter() {
        assertEquals(new PathDecision.PathChoice(UpdatePath.FUSED, ""), fused(facts(true, FLOAT, FLOAT, FLOAT, true,
                true)));
    }

    @Test
    void eachFusedRefusalFallsBackToMultiTensorNamingTheParameterAndTheFact() {
        String[][] cases = {
                {fused(facts(false, FLOAT, FLOAT, FLOAT, true, true)).fallbackReason(), "is on xla:0"},
                {fused(facts(true, ScalarType.Long.value, ScalarType.Long.value, ScalarType.Long.value, true, true))
                        .fallbackReason(), "is updated in Long"},
                {fused(facts(true, FLOAT, FLOAT, ScalarType.Double.value, true, true)).fallbackReason(),
                        "has dtype Float but its gradient Double"},
                {fused(facts(true, FLOAT, FLOAT, FLOAT, false, true)).fallbackReason(), "is not dense"},
                {fused(facts(true, FLOAT, FLOAT, FLOAT, true, false)).fallbackReason(),
                        "has strides [1, 4] but its gradient [3, 1]"},
        };
        for (String[] c : cases) {
            assertTrue(c[0].startsWith("params[1] of group 2 ") && c[0].contains(c[1]), c[0]);
        }
        assertEquals(UpdatePath.MULTI_TENSOR, fused(facts(true, FLOAT, FLOAT, FLOAT, false, true)).path());
    }

    @Test
    void widenedUpdateIgnoresTheParametersLayoutAndGradientDtype() {
        // A half parameter updated on float32 copies laid out alike: only the device matters.
        assertEquals(UpdatePath.FUSED, fused(facts(true, HALF, FLOAT, ScalarType.BFloat16.value, false, false)).path());
        assertEquals(UpdatePath.MULTI_TENSOR, fused(facts(false, HALF, FLOAT, HALF, true, true)).path());
    }

    @Test
    void decayThatWouldDivideByZeroRefusesTheFusedKernels() {
        NAdamWConfig wipes = new NAdamWConfig("wipes", 0.5, 0.9, 0.99, 1e-3, true, 2.0, 0.1, 0.0, 1.0, 1.0, false);
        // lr_t * adamwWeightDecay == 1: 0.5 * 2.0.
        PathDecision.PathChoice choice = PathDecision.choose(UpdatePath.FUSED, true,
                facts(true, FLOAT, FLOAT, FLOAT, true, true), wipes, 4, 0.5);
        assertEquals(UpdatePath.MULTI_TENSOR, choice.path());
        assertTrue(choice.fallbackReason().contains("would wipe the parameters at step 4"), choice.fallbackReason());
    }

    @Test
    void slowerPathsAskedForRunWithoutReasonAndMissingOperatorsFallToSingleTensor() {
        PathDecision.Facts bad = facts(false, FLOAT, FLOAT, ScalarType.Double.value, false, false);
        assertEquals(new PathDecision.PathChoice(UpdatePath.MULTI_TENSOR, ""),
                PathDecision.choose(UpdatePath.MULTI_TENSOR, true, bad, CONFIG, 0, 1e-3));
        assertEquals(new PathDecision.PathChoice(UpdatePath.SINGLE_TENSOR, ""),
                PathDecision.choose(UpdatePath.SINGLE_TENSOR, false, bad, CONFIG, 0, 1e-3));
        PathDecision.PathChoice without = PathDecision.choose(UpdatePath.FUSED, false, bad, CONFIG, 0, 1e-3);
        assertEquals(UpdatePath.SINGLE_TENSOR, without.path());
        assertTrue(without.fallbackReason().contains("lacks the multi-tensor and fused operators"));
    }
}
