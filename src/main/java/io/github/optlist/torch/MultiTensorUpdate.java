package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;
import org.bytedeco.pytorch.IValue;

import static io.github.optlist.internal.AtenOps.Ops.ADDCDIV_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.ADDCMUL_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.ADD_LIST_;
import static io.github.optlist.internal.AtenOps.Ops.ADD_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.COPY_;
import static io.github.optlist.internal.AtenOps.Ops.DIV_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.MUL_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.SQRT_;
import static io.github.optlist.internal.AtenOps.bool;
import static io.github.optlist.internal.AtenOps.call;
import static io.github.optlist.internal.AtenOps.number;

/**
 * The update of a whole bucket ({@link BucketTensorLists}) with ATen's {@code _foreach_*} ops: the ops of
 * {@link SingleTensorUpdate}, in the same order, each applied to every tensor of the bucket in one native call, on
 * the bucket's {@linkplain BucketTensorLists#targets() targets}. Must run inside a no-grad region and a {@code
 * PointerScope}.
 */
final class MultiTensorUpdate {

    private MultiTensorUpdate() {
    }

    /**
     * Applies one NAdamW update with step size {@code lr_t} to every parameter of {@code bucket}, from {@code grads}
     * divided by {@code gradScale} in place first (1: left alone).
     */
    static void apply(BucketTensorLists bucket, IValue grads, NAdamWConfig config, double stepSize,
                      double gradScale) {
        if (gradScale != 1) {
            call(DIV_SCALAR_, grads, number(gradScale));
        }
        double beta1 = config.beta1();
        double beta2 = config.beta2();
        IValue params = bucket.targets();
        IValue expAvgs = bucket.expAvgs();
        IValue expAvgSqs = bucket.expAvgSqs();

        IValue g = grads;
        if (config.l2WeightDecay() != 0) {
            g = bucket.l2Gradients();
            call(COPY_, g, grads, bool(false));
            call(ADD_LIST_, g, params, number(-config.l2WeightDecay()));
        }
        call(MUL_SCALAR_, expAvgs, number(beta1));
        call(ADD_LIST_, expAvgs, g, number(1 - beta1));
        call(MUL_SCALAR_, expAvgSqs, number(beta2));
        call(ADDCMUL_SCALAR_, expAvgSqs, g, g, number(1 - beta2));
        IValue denominators = bucket.scratches();
        call(COPY_, denominators, expAvgSqs, bool(false));
        call(SQRT_, denominators);
        call(ADD_SCALAR_, denominators, number(config.epsilon()));

        if (config.adamwWeightDecay() != 0) {
            call(MUL_SCALAR_, params, number(1 - stepSize * config.adamwWeightDecay()));
        }
        if (config.useNesterov()) {
            call(ADDCDIV_SCALAR_, params, expAvgs, denominators, number(-stepSize * beta1));
            call(ADDCDIV_SCALAR_, params, g, denominators, number(-stepSize * (1 - beta1)));
        } else {
            call(ADDCDIV_SCALAR_, params, expAvgs, denominators, number(-stepSize));
        }
    }
}
