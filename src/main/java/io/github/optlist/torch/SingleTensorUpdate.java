package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

import static org.bytedeco.pytorch.global.torch.sqrt_out;

/**
 * The update of one parameter, one in-place op at a time: the readable reference for the faster paths and
 * the fallback when they do not apply. Must run inside a no-grad region and a {@code PointerScope} that frees
 * the {@link Scalar}s it creates.
 */
final class SingleTensorUpdate {

    private SingleTensorUpdate() {
    }

    /**
     * Applies one NAdamW update with step size {@code lr_t} ({@link io.github.optlist.BiasCorrection#stepSize}) to
     * {@code state.param}, whose gradient is {@code grad}. A {@linkplain ParamState#widened() widened} update runs
     * on float32 copies of the parameter (or on its master copy) and of the gradient, and rounds into the parameter
     * once at the end. The gradient (or its float32 copy) is divided by {@code gradScale} in place first (1: left
     * alone).
     */
    static void apply(ParamState state, Tensor grad, NAdamWConfig config, double stepSize, double gradScale) {
        Tensor param = state.target();
        double beta1 = config.beta1();
        double beta2 = config.beta2();

        Tensor g = grad;
        if (state.widened()) {
            Tensor work = state.workToRefresh();
            if (work != null) {
                work.copy_(state.param);
            }
            g = state.gradWork();
            g.copy_(grad);
        }
        if (gradScale != 1) {
            g.div_(new Scalar(gradScale));
        }
        if (config.l2WeightDecay() != 0) {
            // The published sign: the list was ranked with g = grad - l2 * p.
            g = state.l2Gradient().copy_(g).add_(param, new Scalar(-config.l2WeightDecay()));
        }
        state.expAvg.mul_(new Scalar(beta1)).add_(g, new Scalar(1 - beta1));
        state.expAvgSq.mul_(new Scalar(beta2)).addcmul_(g, g, new Scalar(1 - beta2));
        Tensor denominator = sqrt_out(state.scratch(), state.expAvgSq).add_(new Scalar(config.epsilon()));

        // p - lr_t * (u / d + wd * p) == p * (1 - lr_t * wd) - lr_t * u / d
        if (config.adamwWeightDecay() != 0) {
            param.mul_(new Scalar(1 - stepSize * config.adamwWeightDecay()));
        }
        if (config.useNesterov()) {
            // u = beta1 * m + (1 - beta1) * g, applied as two terms so no buffer holds u.
            param.addcdiv_(state.expAvg, denominator, new Scalar(-stepSize * beta1));
            param.addcdiv_(g, denominator, new Scalar(-stepSize * (1 - beta1)));
        } else {
            param.addcdiv_(state.expAvg, denominator, new Scalar(-stepSize));
        }
        if (state.widened()) {
            state.param.copy_(param);
        }
    }
}
