package io.github.optlist.torch;

import io.github.optlist.internal.AtenOps;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.MemoryFormat;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BucketTensorLists#lerpExpAvgs}, the Nesterov correction of the fused path, against the exact
 * {@code m + w * (end - m)} of the stored values (in decimal), with {@code w} the weight rounded to the moments'
 * precision. The weights are the two the fused path uses with {@code beta1 = 0.9}: the extrapolation
 * {@code -(1 - beta1) / beta1} and the copy's {@code 1 / (1 + beta1)}, on either side of the 0.5 at which
 * {@code lerp} changes its formula. Either way of computing it rounds a difference, a product and a sum, so the
 * result may be off by a rounding of its largest term: the tolerance is two ulps of {@code max(|m|, |end|)}.
 */
class BucketLerpTest {

    private static final double EXTRAPOLATE = -(1 - 0.9) / 0.9;
    private static final double COPY = 1 / (1 + 0.9);
    private static final int N = 100_000;

    /**
     * Lerps the first moment of {@code param} (set to {@code moments}) towards {@code ends} through a bucket of its
     * own, as a fused Nesterov step would; returns the moment.
     */
    private static double[] lerped(Tensor param, double[] moments, Tensor ends, double weight) {
        ParamState state = new ParamState(param, "params[0] of group 0");
        state.initialize(StatePrecision.FLOAT32);
        BucketTensorLists bucket = new BucketTensorLists(List.of(state));
        try (PointerScope scope = new PointerScope()) {
            state.expAvg.copy_(Tensor.create(moments, param.sizes().vec().get()));
            bucket.lerpExpAvgs("lerp", AtenOps.tensorList(List.of(ends)), weight);
            return TestTensors.values(state.expAvg);
        } finally {
            bucket.release();
        }
    }

    /** Each element of {@code after} within two ulps (in {@code float32} or not) of the exact lerp. */
    private static void assertLerped(double[] moments, double[] ends, double weight, double[] after, boolean float32) {
        BigDecimal w = new BigDecimal(float32 ? (float) weight : weight);
        for (int i = 0; i < N; i++) {
            BigDecimal m = new BigDecimal(moments[i]);
            double exact = m.add(w.multiply(new BigDecimal(ends[i]).subtract(m)), MathContext.DECIMAL128)
                    .doubleValue();
            double largest = Math.max(Math.abs(moments[i]), Math.abs(ends[i]));
            double ulp = float32 ? Math.ulp((float) largest) : Math.ulp(largest);
            assertEquals(exact, after[i], 2 * ulp, "element " + i);
        }
    }

    /** {@code n} gaussian values, rounded to float32 when {@code float32}. */
    private static double[] gaussian(int seed, boolean float32) {
        double[] values = TestTensors.gaussian(new Random(seed), N, 1.0);
        if (float32) {
            for (int i = 0; i < N; i++) {
                values[i] = (float) values[i];
            }
        }
        return values;
    }

    private static void checkContiguous(ScalarType dtype, double weight, int seed) {
        boolean float32 = dtype == ScalarType.Float;
        double[] moments = gaussian(seed, float32);
        double[] ends = gaussian(seed + 100, float32);
        Tensor param = Tensor.create(gaussian(seed + 200, float32), N).to(dtype);
        Tensor end = Tensor.create(ends, N).to(dtype);
        assertLerped(moments, ends, weight, lerped(param, moments, end, weight), float32);
    }

    @Test
    void contiguousFloat32MomentsAreExtrapolatedWithinARounding() {
        checkContiguous(ScalarType.Float, EXTRAPOLATE, 1);
    }

    @Test
    void contiguousFloat32MomentsAreInterpolatedPastOneHalfWithinARounding() {
        checkContiguous(ScalarType.Float, COPY, 2);
    }

    @Test
    void contiguousFloat64MomentsAreLerpedWithinARounding() {
        checkContiguous(ScalarType.Double, EXTRAPOLATE, 3);
        checkContiguous(ScalarType.Double, COPY, 4);
    }

    @Test
    void nonContiguousMomentsAreLerpedWithinARoundingToo() {
        double[] moments = gaussian(5, true);
        double[] ends = gaussian(6, true);
        Tensor param = Tensor.create(gaussian(7, true), 10, 10, 25, 40).to(ScalarType.Float)
                .contiguous(MemoryFormat.ChannelsLast);
        assertFalse(param.is_contiguous());
        Tensor end = Tensor.create(ends, 10, 10, 25, 40).to(ScalarType.Float).contiguous(MemoryFormat.ChannelsLast);
        double[] after = lerped(param, moments, end, EXTRAPOLATE);
        assertLerped(moments, ends, EXTRAPOLATE, after, true);
    }

    @Test
    void theMomentsMoveAndTheEndsStayAsTheyWere() {
        double[] moments = gaussian(8, true);
        double[] ends = gaussian(9, true);
        Tensor param = Tensor.create(gaussian(10, true), N).to(ScalarType.Float);
        Tensor end = Tensor.create(ends, N).to(ScalarType.Float);
        double[] after = lerped(param, moments, end, EXTRAPOLATE);
        double[] endsAfter = TestTensors.values(end);
        int moved = 0;
        for (int i = 0; i < N; i++) {
            assertEquals(ends[i], endsAfter[i], "end " + i);
            moved += after[i] != moments[i] ? 1 : 0;
        }
        assertTrue(moved > N * 0.99, moved + " of " + N + " moments moved");
    }
}
