package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;
import io.github.optlist.internal.AtenOps;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.OperatorHandle;

import static io.github.optlist.internal.AtenOps.Ops.COPY_;
import static io.github.optlist.internal.AtenOps.Ops.FUSED_ADAMW_;
import static io.github.optlist.internal.AtenOps.Ops.FUSED_ADAM_;
import static io.github.optlist.internal.AtenOps.Ops.LERP_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.MUL_SCALAR_;
import static io.github.optlist.internal.AtenOps.bool;
import static io.github.optlist.internal.AtenOps.call;
import static io.github.optlist.internal.AtenOps.number;

/**
 * The update of a whole bucket ({@link BucketTensorLists}) with ATen's fused Adam kernels, which read
 * {@code p, g, m, v} and write {@code p, m, v} once per element. Must run inside a no-grad region and a
 * {@code PointerScope}. {@code p} is the bucket's {@linkplain BucketTensorLists#targets() targets}: the parameters, or
 * for half-precision parameters with float32 state their float32 copies, which the kernel of that dtype updates like
 * float32 parameters ({@link BucketTensorLists#widen}, {@link BucketTensorLists#roundIntoParams}).
 *
 * <p>The kernels compute, with their own bias corrections {@code bc1, bc2} and arguments {@code lr, beta1, wd, eps}:
 * <pre>
 *   g = grad + wd * p                          (_fused_adam_ only)
 *   p = p * (1 - lr * wd)                      (_fused_adamw_ only)
 *   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
 *   p = p - lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
 * </pre>
 * The buckets' step tensors make {@code bc1 = bc2 = 1}, so {@code lr = lr_t} and {@code eps} is the list's epsilon.
 * The list's variants map onto that as follows:
 * <ul>
 *   <li>decoupled decay only: {@code _fused_adamw_} with {@code wd = adamwWeightDecay};</li>
 *   <li>an L2 term: {@code _fused_adam_} with {@code wd = -l2}, which gives the list's {@code g = grad - l2 * p}.
 *       With decoupled decay as well, {@code p} is first scaled by {@code c = 1 - lr_t * adamwWeightDecay} and the
 *       kernel gets {@code wd = -l2 / c}, so that its gradient still uses the unscaled parameter;</li>
 *   <li>Nesterov: the numerator {@code u = beta1 * m' + (1 - beta1) * g}, with {@code m'} the new first moment,
 *       equals {@code lerp(m, g, 1 - beta1^2)} of the old one, so the kernel runs with {@code beta1^2} and leaves
 *       {@code u} where it found {@code m}. Without an L2 term {@code g} is the gradient itself, and
 *       {@code m' = lerp(u, g, -(1 - beta1) / beta1)} recovers the moment in place: one pass more than the kernel
 *       (taken for {@code beta1 >= 0.5}, where it at most doubles rounding errors). Otherwise the kernel runs on a
 *       copy of {@code m} and {@code m' = lerp(m, u, 1 / (1 + beta1))}: two passes more.</li>
 * </ul>
 */
final class FusedUpdate {

    private FusedUpdate() {
    }

    /** Whether the mapping above exists for this step: not when {@code c} is 0 (the decay wipes the parameter). */
    static boolean canRun(NAdamWConfig config, double stepSize) {
        if (config.l2WeightDecay() == 0 || config.adamwWeightDecay() == 0) {
            return true;
        }
        double scale = 1 - stepSize * config.adamwWeightDecay();
        return scale != 0 && Double.isFinite(config.l2WeightDecay() / scale);
    }

    /**
     * Below this {@code beta1}, recovering {@code m'} by extrapolation from {@code u} would multiply rounding errors by
     * {@code 1 / beta1} (more than 2); the copy is taken instead.
     */
    static final double SMALLEST_BETA1_TO_EXTRAPOLATE = 0.5;

    /**
     * Applies one NAdamW update with step size {@code lr_t} to every parameter of {@code bucket}, from {@code grads}
     * divided by {@code gradScale} (the kernel divides each gradient as it reads it and stores the quotient back, so
     * the Nesterov correction below reads the true gradient too); {@code gradScale} 1 leaves them alone.
     */
    static void apply(BucketTensorLists bucket, IValue grads, NAdamWConfig config, double stepSize,
                      double gradScale) {
        IValue kernelScale = gradScale == 1 ? AtenOps.none() : bucket.gradScale(gradScale);
        double beta1 = config.beta1();
        IValue params = bucket.targets();
        IValue expAvgs = bucket.expAvgs();
        boolean extrapolate = config.useNesterov() && config.l2WeightDecay() == 0
                && beta1 >= SMALLEST_BETA1_TO_EXTRAPOLATE;
        boolean copy = config.useNesterov() && !extrapolate;
        IValue numerators = expAvgs;
        if (copy) {
            numerators = bucket.scratches();
            call(COPY_, numerators, expAvgs, bool(false));
        }
        double kernelBeta1 = config.useNesterov() ? beta1 * beta1 : beta1;
        if (config.l2WeightDecay() == 0) {
            fusedKernel(FUSED_ADAMW_, bucket, grads, numerators, config, stepSize, kernelBeta1,
                    config.adamwWeightDecay(), kernelScale);
        } else {
            double l2Factor = -config.l2WeightDecay();
            if (config.adamwWeightDecay() != 0) {
                double scale = 1 - stepSize * config.adamwWeightDecay();
                call(MUL_SCALAR_, params, number(scale));
                l2Factor /= scale;
            }
            fusedKernel(FUSED_ADAM_, bucket, grads, numerators, config, stepSize, kernelBeta1, l2Factor, kernelScale);
        }
        if (copy) {
            call(LERP_SCALAR_, expAvgs, numerators, number(1 / (1 + beta1)));
        } else if (extrapolate) {
            // expAvgs holds u = beta1 * m' + (1 - beta1) * g, so m' = lerp(u, g, -(1 - beta1) / beta1).
            call(LERP_SCALAR_, expAvgs, grads, number(-(1 - beta1) / beta1));
        }
    }

    private static void fusedKernel(OperatorHandle kernel, BucketTensorLists bucket, IValue grads,
                                    IValue expAvgs, NAdamWConfig config, double stepSize, double beta1,
                                    double weightDecay, IValue gradScale) {
        AtenOps.fusedAdam(kernel, bucket.targets(), grads, expAvgs, bucket.expAvgSqs(),
                bucket.stepsWithoutBiasCorrection(), stepSize, beta1, config.beta2(), weightDecay, config.epsilon(),
                gradScale);
    }
}
