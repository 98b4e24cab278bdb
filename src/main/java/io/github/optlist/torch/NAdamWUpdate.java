package io.github.optlist.torch;

import io.github.optlist.BiasCorrection;
import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.internal.AtenOps;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

import java.util.Arrays;
import java.util.List;

import static io.github.optlist.internal.AtenOps.Ops.ADDCDIV_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.ADDCMUL_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.ADD_LIST_;
import static io.github.optlist.internal.AtenOps.Ops.ADD_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.COPY_;
import static io.github.optlist.internal.AtenOps.Ops.DIV_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.FUSED_ADAMW_;
import static io.github.optlist.internal.AtenOps.Ops.FUSED_ADAM_;
import static io.github.optlist.internal.AtenOps.Ops.MUL_SCALAR_;
import static io.github.optlist.internal.AtenOps.Ops.SQRT_;
import static io.github.optlist.internal.AtenOps.bool;
import static io.github.optlist.internal.AtenOps.number;
import static org.bytedeco.pytorch.global.torch.sqrt_out;

/**
 * The NAdamW update, written once, in the three ways {@link NAdamWCosineDecay#step()} applies it
 * ({@link UpdatePath}), side by side as torch.optim's {@code adamw.py} keeps {@code _single_tensor_adamw},
 * {@code _multi_tensor_adamw} and {@code _fused_adamw}. One dispatcher stands between {@code step()} and this file:
 * {@link GroupStepper#stepAll} checks the gradients, sorts each group's parameters into buckets, asks
 * {@link PathDecision} for each bucket's path and calls {@link #singleTensor}, {@link #multiTensor} or {@link #fused}
 * with the bucket's step size ({@link #stepSize}). This head is the implementer's statement of the update; the user's
 * is {@link NAdamWCosineDecay}'s Javadoc and {@code docs/semantics.md}.
 *
 * <h2>The formula</h2>
 * Update {@code k} (0-based) of a parameter {@code p} with gradient {@code grad}, {@code t = k + 1}, {@code T} the
 * training steps, {@code s} the loss scale a {@code scaledStep} divides by (1 for {@code step()}):
 * <pre>
 *   lr   = CosineSchedule.learningRate(config, k, T, variant)   warm-up, constant, cosine decay to lrMin
 *   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)                BiasCorrection.stepSize (lr_t = lr without it)
 *   g    = grad / s - l2WeightDecay * p                          the published sign, which the list was ranked with
 *   m    = beta1 * m + (1 - beta1) * g
 *   v    = beta2 * v + (1 - beta2) * g * g
 *   d    = sqrt(v) + epsilon                                     epsilon "hat": outside the bias correction
 *   u    = useNesterov ? beta1 * m + (1 - beta1) * g : m
 *   p    = p * (1 - lr_t * adamwWeightDecay) - lr_t * u / d
 * </pre>
 * The last line is the user's {@code p - lr_t * (u / d + adamwWeightDecay * p)} in the order the ops apply it. The
 * first two are computed on the host in double precision, once per bucket: the tensors never see {@code beta^t}.
 *
 * <p><b>Precision.</b> The update runs in the state dtype ({@link StatePrecision}). A {@linkplain ParamState#widened()
 * widened} update, of a half-precision parameter with float32 state, runs on float32 copies of the parameter (or on
 * its float32 master copy) and of the gradient, and rounds into the parameter once at the end.
 *
 * <p><b>The strategies.</b> {@link #singleTensor} applies one in-place op per line above, per parameter: the readable
 * reference the other two are tested against, and the fallback where they cannot run. {@link #multiTensor} applies
 * the same ops in the same order, each to every tensor of a bucket in one {@code _foreach_*} call (the same bits as
 * the single-tensor path on CPU). {@link #fused} calls ATen's fused Adam kernels, which read {@code p, g, m, v} and
 * write {@code p, m, v} once per element; with their own bias corrections {@code bc1, bc2} and arguments
 * {@code lr, beta1, wd, eps} they compute:
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
 *       With decoupled decay as well, the kernel runs with {@code lr = lr_t / c}, {@code c = 1 - lr_t *
 *       adamwWeightDecay}, and then its result is scaled by {@code c} ({@link BucketTensorLists#scale}):
 *       {@code c * (p - lr_t / c * u / d)} is the list's last line, and the kernel's gradient reads the parameter
 *       before the decay, as the list's does. Of both calls' arguments only {@code lr} and {@code c} change from
 *       step to step, and on the CPU (for {@code c}: contiguous parameters) they are written into tensors in
 *       place;</li>
 *   <li>Nesterov: the numerator {@code u = beta1 * m' + (1 - beta1) * g}, with {@code m'} the new first moment,
 *       equals {@code lerp(m, g, 1 - beta1^2)} of the old one, so the kernel runs with {@code beta1^2} and leaves
 *       {@code u} where it found {@code m}. Without an L2 term {@code g} is the gradient itself, and
 *       {@code m' = lerp(u, g, -(1 - beta1) / beta1)} recovers the moment in place: one pass more than the kernel
 *       (taken for {@code beta1 >= 0.5}, where it at most doubles rounding errors). Otherwise the kernel runs on a
 *       copy of {@code m} and {@code m' = lerp(m, u, 1 / (1 + beta1))}: two passes more. On the CPU the
 *       {@code lerp} is one {@code _fused_sgd_} call ({@link BucketTensorLists#lerpExpAvgs}).</li>
 * </ul>
 *
 * <p>Each strategy must run inside a no-grad region and a {@code PointerScope} that frees the {@link Scalar}s and
 * {@link IValue}s it creates; it trusts its caller's checks (gradients that fit their parameters, a fused bucket that
 * {@link PathDecision} admitted) and allocates only the scratch buffers a state makes on first use. The multi-tensor
 * and fused strategies box each call's arguments once per bucket ({@link BucketTensorLists#call}) and refill what
 * changes: a native object costs microseconds to make and free, as much as a small model's update. On the CPU a
 * fused step makes none; the multi-tensor path boxes its step size anew at each step.
 */
final class NAdamWUpdate {

    /**
     * Below this {@code beta1}, recovering {@code m'} by extrapolation from {@code u} would multiply rounding errors by
     * {@code 1 / beta1} (more than 2); the fused path takes the copy instead.
     */
    static final double SMALLEST_BETA1_TO_EXTRAPOLATE = 0.5;

    private NAdamWUpdate() {
    }

    /**
     * The bias-corrected step size {@code lr_t} of the update at {@code step} (0-based): the formula's first two
     * lines.
     */
    static double stepSize(NAdamWConfig config, long step, long trainingSteps, ListVariant variant) {
        return BiasCorrection.stepSize(config, CosineSchedule.learningRate(config, step, trainingSteps, variant),
                step + 1);
    }

    /**
     * The single-tensor strategy: applies one update with step size {@code lr_t} to each parameter of {@code bucket},
     * whose gradient is the same entry of {@code grads}, one in-place op at a time. The gradient (or its float32 copy)
     * is divided by {@code gradScale} in place first (1: left alone).
     */
    static void singleTensor(BucketTensorLists bucket, List<Tensor> grads, NAdamWConfig config, double stepSize,
                             double gradScale) {
        for (int i = 0; i < bucket.states.size(); i++) {
            singleTensor(bucket.states.get(i), grads.get(i), config, stepSize, gradScale);
        }
    }

    private static void singleTensor(ParamState state, Tensor grad, NAdamWConfig config, double stepSize,
                                     double gradScale) {
        Tensor param = state.target();
        double beta1 = config.beta1();
        double beta2 = config.beta2();

        Tensor g = grad;
        if (state.widened()) {
            Tensor work = state.workToRefresh();
            if (work != null) {
                work.copy_(state.param);
            }
            g = state.buffers().gradWork();
            g.copy_(grad);
        }
        if (gradScale != 1) {
            g.div_(new Scalar(gradScale));
        }
        if (config.l2WeightDecay() != 0) {
            g = state.buffers().l2Gradient().copy_(g).add_(param, new Scalar(-config.l2WeightDecay()));
        }
        state.expAvg.mul_(new Scalar(beta1)).add_(g, new Scalar(1 - beta1));
        state.expAvgSq.mul_(new Scalar(beta2)).addcmul_(g, g, new Scalar(1 - beta2));
        Tensor denominator = sqrt_out(state.buffers().scratch(), state.expAvgSq).add_(new Scalar(config.epsilon()));

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

    /**
     * The multi-tensor strategy: the single-tensor ops in the same order, each applied to every tensor of
     * {@code bucket} in one native call, on the bucket's {@linkplain BucketTensorLists#targets() targets}, from
     * {@code grads} divided by {@code gradScale} in place first (1: left alone).
     */
    static void multiTensor(BucketTensorLists bucket, List<Tensor> gradients, NAdamWConfig config, double stepSize,
                            double gradScale) {
        IValue grads = bucket.widen(bucket.gradients(gradients));
        if (gradScale != 1) {
            stepCall(bucket, "unscale", DIV_SCALAR_, gradScale, grads);
        }
        double beta1 = config.beta1();
        double beta2 = config.beta2();
        IValue params = bucket.targets();
        IValue expAvgs = bucket.expAvgs();
        IValue expAvgSqs = bucket.expAvgSqs();

        // The calls are boxed once per bucket (BucketTensorLists.call); a number that changes from step to step is
        // boxed anew each step, by stepCall.
        IValue g = config.l2WeightDecay() != 0 ? bucket.l2Gradients() : grads;
        if (config.l2WeightDecay() != 0) {
            bucket.call("l2Copy", COPY_, () -> new IValue[]{g, grads, bool(false)}).call();
            bucket.call("l2Add", ADD_LIST_, () -> new IValue[]{g, params, number(-config.l2WeightDecay())}).call();
        }
        bucket.call("decayAvg", MUL_SCALAR_, () -> new IValue[]{expAvgs, number(beta1)}).call();
        bucket.call("addAvg", ADD_LIST_, () -> new IValue[]{expAvgs, g, number(1 - beta1)}).call();
        bucket.call("decayAvgSq", MUL_SCALAR_, () -> new IValue[]{expAvgSqs, number(beta2)}).call();
        bucket.call("addAvgSq", ADDCMUL_SCALAR_, () -> new IValue[]{expAvgSqs, g, g, number(1 - beta2)}).call();
        IValue denominators = bucket.scratches();
        bucket.call("copyAvgSq", COPY_, () -> new IValue[]{denominators, expAvgSqs, bool(false)}).call();
        bucket.call("sqrt", SQRT_, () -> new IValue[]{denominators}).call();
        bucket.call("addEps", ADD_SCALAR_, () -> new IValue[]{denominators, number(config.epsilon())}).call();

        if (config.adamwWeightDecay() != 0) {
            stepCall(bucket, "decay", MUL_SCALAR_, 1 - stepSize * config.adamwWeightDecay(), params);
        }
        if (config.useNesterov()) {
            stepCall(bucket, "stepAvg", ADDCDIV_SCALAR_, -stepSize * beta1, params, expAvgs, denominators);
            stepCall(bucket, "stepGrad", ADDCDIV_SCALAR_, -stepSize * (1 - beta1), params, g, denominators);
        } else {
            stepCall(bucket, "stepAvg", ADDCDIV_SCALAR_, -stepSize, params, expAvgs, denominators);
        }
        bucket.roundIntoParams();
    }

    /**
     * Calls {@code op} on {@code lists} and the number {@code value}, its last argument: the call named {@code name}
     * of {@code bucket}, with {@code value} boxed anew.
     */
    private static void stepCall(BucketTensorLists bucket, String name, OperatorHandle op, double value,
                                 IValue... lists) {
        AtenOps.BoxedCall call = bucket.call(name, op, () -> {
            IValue[] arguments = Arrays.copyOf(lists, lists.length + 1);
            arguments[lists.length] = number(value);
            return arguments;
        });
        call.set(lists.length, number(value));
        call.call();
    }

    /**
     * Whether the fused mapping exists for this step: not when {@code c = 1 - lr_t * adamwWeightDecay} is 0 (the
     * decay wipes the parameter) and the step size would be divided by it.
     */
    static boolean fusedCanRun(NAdamWConfig config, double stepSize) {
        if (config.l2WeightDecay() == 0 || config.adamwWeightDecay() == 0) {
            return true;
        }
        double scale = 1 - stepSize * config.adamwWeightDecay();
        return scale != 0 && Double.isFinite(stepSize / scale);
    }

    /**
     * The fused strategy: ATen's fused Adam kernels on the bucket's {@linkplain BucketTensorLists#targets() targets}
     * (for half-precision parameters with float32 state their float32 copies, which the kernel of that dtype updates
     * like float32 parameters), mapped as the head says. The gradients are divided by {@code gradScale} (the kernel
     * divides each as it reads it and stores the quotient back, so the Nesterov correction reads the true gradient
     * too); {@code gradScale} 1 leaves them alone. Runs only where {@link #fusedCanRun}.
     */
    static void fused(BucketTensorLists bucket, List<Tensor> gradients, NAdamWConfig config, double stepSize,
                      double gradScale) {
        IValue grads = bucket.widen(bucket.gradients(gradients));
        IValue kernelScale = gradScale == 1 ? null : bucket.gradScale(gradScale);
        double beta1 = config.beta1();
        boolean extrapolate = config.useNesterov() && config.l2WeightDecay() == 0
                && beta1 >= SMALLEST_BETA1_TO_EXTRAPOLATE;
        boolean copy = config.useNesterov() && !extrapolate;
        IValue expAvgs = bucket.expAvgs();
        IValue numerators = copy ? bucket.scratches() : expAvgs;
        if (copy) {
            bucket.call("copyNumerators", COPY_, () -> new IValue[]{numerators, expAvgs, bool(false)}).call();
        }
        double kernelBeta1 = config.useNesterov() ? beta1 * beta1 : beta1;
        boolean l2 = config.l2WeightDecay() != 0;
        OperatorHandle kernel = l2 ? FUSED_ADAM_ : FUSED_ADAMW_;
        double weightDecay = l2 ? -config.l2WeightDecay() : config.adamwWeightDecay();
        // With both decays the kernel steps by lr_t / c and the parameters are scaled by c after it (the head).
        double scale = l2 ? 1 - stepSize * config.adamwWeightDecay() : 1;
        bucket.fusedKernel(kernel, grads, copy ? "scratches" : "expAvgs", numerators, kernelBeta1, config.beta2(),
                config.epsilon()).call(stepSize / scale, weightDecay, kernelScale);
        if (scale != 1) {
            bucket.scale(scale);
        }
        if (copy) {
            bucket.lerpExpAvgs("lerpCopy", numerators, 1 / (1 + beta1));
        } else if (extrapolate) {
            // expAvgs holds u = beta1 * m' + (1 - beta1) * g, so m' = lerp(u, g, -(1 - beta1) / beta1).
            bucket.lerpExpAvgs("lerpExtrapolate", grads, -(1 - beta1) / beta1);
        }
        bucket.roundIntoParams();
    }
}
