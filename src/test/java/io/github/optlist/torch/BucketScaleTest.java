package io.github.optlist.torch;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.MemoryFormat;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BucketTensorLists#scale}, the decoupled decay of the fused path with an L2 term, against {@code p * c}
 * computed here in the targets' precision with the factor rounded to it, as {@code mul_} (and the single-tensor path)
 * computes it. On contiguous CPU targets it runs as {@code p - (1 - c) * p}, which may differ by one ulp where the
 * product lies near a tie: a fraction of about {@code 1 - c} of the elements.
 */
class BucketScaleTest {

    /** A step's decay factor {@code 1 - lr_t * adamwWeightDecay}: 1e-3 times 0.037. */
    private static final double FACTOR = 1 - 3.7e-5;
    private static final int N = 100_000;

    /** Scales {@code param} by {@link #FACTOR} through a bucket of its own, as a fused step would. */
    private static double[] scaled(Tensor param) {
        ParamState state = new ParamState(param, "params[0] of group 0");
        state.initialize(StatePrecision.FLOAT32);
        BucketTensorLists bucket = new BucketTensorLists(List.of(state));
        try (PointerScope scope = new PointerScope()) {
            bucket.scale(FACTOR);
        } finally {
            bucket.release();
        }
        return TestTensors.values(param);
    }

    private static double[] gaussian(int seed) {
        return TestTensors.gaussian(new Random(seed), N, 1.0);
    }

    @Test
    void contiguousFloat32TargetsAreScaledAsMulRoundsButNearTies() {
        double[] before = gaussian(1);
        Tensor param = Tensor.create(before, N).to(ScalarType.Float);
        double[] after = scaled(param);
        float factor = (float) FACTOR;
        int differing = 0;
        for (int i = 0; i < N; i++) {
            float expected = (float) before[i] * factor;
            if ((float) after[i] != expected) {
                differing++;
                assertEquals(expected, (float) after[i], Math.ulp(expected), "element " + i);
            }
        }
        // About (1 - c) * N = 3.7 expected; rounding 1 - c itself (not c) would give some 17 % of the elements.
        assertTrue(differing <= 40, differing + " of " + N + " elements differ from p * c");
    }

    @Test
    void contiguousFloat64TargetsAreScaledAsMulRoundsButNearTies() {
        double[] before = gaussian(2);
        double[] after = scaled(Tensor.create(before, N));
        int differing = 0;
        for (int i = 0; i < N; i++) {
            double expected = before[i] * FACTOR;
            if (after[i] != expected) {
                differing++;
                assertEquals(expected, after[i], Math.ulp(expected), "element " + i);
            }
        }
        assertTrue(differing <= 40, differing + " of " + N + " elements differ from p * c");
    }

    @Test
    void nonContiguousTargetsAreScaledExactlyAsMulRounds() {
        double[] before = gaussian(3);
        Tensor param = Tensor.create(before, 10, 10, 25, 40).to(ScalarType.Float)
                .contiguous(MemoryFormat.ChannelsLast);
        assertFalse(param.is_contiguous());
        double[] after = scaled(param);
        float factor = (float) FACTOR;
        for (int i = 0; i < N; i++) {
            assertEquals((float) before[i] * factor, (float) after[i], "element " + i);
        }
    }
}
