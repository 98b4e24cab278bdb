package io.github.optlist.torch;

import io.github.optlist.internal.AtenOps;
import io.github.optlist.internal.NativeMemory;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorList;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

import static io.github.optlist.internal.AtenOps.Ops.COPY_;
import static io.github.optlist.internal.AtenOps.bool;
import static io.github.optlist.internal.AtenOps.number;
import static org.bytedeco.pytorch.global.torch.full;
import static org.bytedeco.pytorch.global.torch.zeros;

/**
 * The tensor lists of one bucket: the parameters of one group that share a device, dtype, step count and update
 * path at a step, and so take one set of multi-tensor or fused calls. The lists and the boxed argument lists of the
 * calls ({@link AtenOps.BoxedCall}) are built on first use and kept for as long as the same parameters form the
 * bucket, so that a step allocates no native object: it refills the list of gradients in place
 * ({@link #gradients}), writes the step's learning rate into a tensor the fused kernel reads, and empties the list of
 * gradients again when done ({@link #dropGradients}), so that it keeps none alive between steps. A group's buckets
 * are kept from step to step by its {@link GroupStepper}, which drops them when a state tensor is replaced.
 */
final class BucketTensorLists {

    /**
     * A step count so large that {@code beta^t} underflows to 0 for every {@code beta < 1}: the fused kernels' own
     * bias corrections become exactly 1, and the optimizer applies its own through the step size.
     */
    private static final double BIAS_CORRECTION_OFF_STEP = 1e30;

    final List<ParamState> states;
    /** Whether the update runs on float32 copies of half-precision parameters; see {@link ParamState#widened()}. */
    final boolean widened;
    /** The tensor lists built so far, by what they hold; each keeps its tensors alive until {@link #release()}. */
    private final Map<String, IValue> lists = new HashMap<>();
    /** The boxed calls built so far, by what they do. */
    private final Map<String, AtenOps.BoxedCall> calls = new HashMap<>();
    /** The fused kernel calls built so far, by kernel, then by first-moment list. */
    private final Map<OperatorHandle, Map<String, FusedKernelCall>> kernelCalls = new HashMap<>();
    /** The list {@link #gradients} refills, as a view that shares it; null until first used. */
    private TensorList gradientView;
    /** The value of the CPU tensor {@link #gradScale} holds, written in place; null until made or off the CPU. */
    private FloatPointer gradScaleValue;
    /** Where {@link #scale} writes its rate, in a CPU tensor; null until made, or where it boxes the factor. */
    private DoublePointer scaleRate;
    /** Whether the targets {@link #scale} runs {@code _fused_sgd_} on are float64, else it rounds to float32. */
    private boolean scaleInDouble;

    BucketTensorLists(List<ParamState> states) {
        this.states = List.copyOf(states);
        this.widened = this.states.get(0).widened();
    }

    /** The tensors the update runs on: the parameters, or their float32 master or working copies. */
    IValue targets() {
        return cached("targets", ParamState::target);
    }

    IValue expAvgs() {
        return cached("expAvgs", state -> state.expAvg);
    }

    IValue expAvgSqs() {
        return cached("expAvgSqs", state -> state.expAvgSq);
    }

    IValue scratches() {
        return cached("scratches", state -> state.buffers().scratch());
    }

    IValue l2Gradients() {
        return cached("l2Gradients", state -> state.buffers().l2Gradient());
    }

    /**
     * The bucket's list of gradients, holding {@code grads} (one per state, in order): the same boxed list every
     * step, refilled in place, so that a call boxed once reads this step's gradients. Emptied by
     * {@link #dropGradients}.
     */
    IValue gradients(List<Tensor> grads) {
        IValue list = lists.get("grads");
        if (list == null) {
            list = NativeMemory.outliveScope(AtenOps.tensorList(grads));
            lists.put("grads", list);
            gradientView = NativeMemory.outliveScope(list.toTensorList());
        } else {
            AtenOps.refill(gradientView, grads);
        }
        return list;
    }

    /** Empties the list of gradients, so that the bucket holds no gradient alive between steps. */
    void dropGradients() {
        if (gradientView != null) {
            AtenOps.empty(gradientView);
        }
    }

    /**
     * The call named {@code name}, of {@code op} with the arguments {@code arguments} gives (in the caller's scope,
     * copied), boxed on first use and kept.
     */
    AtenOps.BoxedCall call(String name, OperatorHandle op, Supplier<IValue[]> arguments) {
        AtenOps.BoxedCall call = calls.get(name);
        if (call == null) {
            call = new AtenOps.BoxedCall(op, arguments.get());
            calls.put(name, call);
        }
        return call;
    }

    /**
     * Before a widened update: refreshes the float32 working copies from the parameters (unless the update runs on
     * master copies) and copies the gradients into float32; returns the gradients the update is to read.
     */
    IValue widen(IValue grads) {
        if (!widened) {
            return grads;
        }
        if (states.get(0).workToRefresh() != null) {
            call("refreshWork", COPY_, () -> new IValue[]{targets(), params(), bool(false)}).call();
        }
        IValue gradWorks = cached("gradWorks", state -> state.buffers().gradWork());
        call("widenGrads", COPY_, () -> new IValue[]{gradWorks, grads, bool(false)}).call();
        return gradWorks;
    }

    /** After a widened update: rounds the float32 results into the parameters, once. */
    void roundIntoParams() {
        if (widened) {
            call("roundIntoParams", COPY_, () -> new IValue[]{params(), targets(), bool(false)}).call();
        }
    }

    private IValue params() {
        return cached("params", state -> state.param);
    }

    /** The fused kernels' {@code state_steps}: one float32 scalar on the bucket's device, once per tensor. */
    IValue stepsWithoutBiasCorrection() {
        return lists.computeIfAbsent("steps", name -> {
            Tensor step = full(new long[0], new Scalar(BIAS_CORRECTION_OFF_STEP),
                    new TensorOptions(ScalarType.Float).device(new DeviceOptional(states.get(0).param.device())));
            return NativeMemory.outliveScope(AtenOps.tensorList(Collections.nCopies(states.size(), step)));
        });
    }

    /**
     * The fused kernels' {@code grad_scale}: one float32 scalar on the bucket's device holding {@code scale}, made
     * once and refilled in place.
     */
    IValue gradScale(double scale) {
        IValue value = lists.get("gradScale");
        if (value == null) {
            try (PointerScope scope = new PointerScope()) {
                Tensor tensor = full(new long[0], new Scalar(scale),
                        new TensorOptions(ScalarType.Float).device(new DeviceOptional(states.get(0).param.device())));
                value = NativeMemory.outliveScope(new IValue(tensor));
                // On the CPU a step writes the scale in place; the tensor lives as long as the IValue holding it. A
                // returned data pointer owns nothing, and no scope frees it.
                gradScaleValue = tensor.is_cpu() ? tensor.data_ptr_float() : null;
            }
            lists.put("gradScale", value);
        } else if (gradScaleValue != null) {
            // What fill_ would store: the double rounded to float32.
            gradScaleValue.put((float) scale);
        } else {
            try (Scalar filler = new Scalar(scale)) {
                value.toTensor().fill_(filler);
            }
        }
        return value;
    }

    /**
     * Multiplies every target by {@code factor} in place, as {@code mul_} would: by the factor rounded to the
     * targets' precision, {@code c} (float32 for all but float64 targets: {@code mul_} of float16 and bfloat16
     * multiplies in float32). On the CPU, for contiguous targets, this is {@code _fused_sgd_} with each target as its
     * own gradient and learning rate {@code 1 - c} (exact), read from a float64 tensor (with {@code item<double>()}:
     * the same double) that each call rewrites in place. Its {@code p - (1 - c) * p} rounds the product before the
     * difference, so it gives the bits of {@code mul_} but where {@code p * c} lies within that rounding error of a
     * tie: about a fraction {@code 1 - c} of the elements, which then differ by one ulp. The kernel walks each
     * tensor's memory directly, where {@code _foreach_mul_} falls back on the CPU to one {@code mul_} per tensor,
     * each of which boxes its factor into a new tensor and builds a {@code TensorIterator}: 2.5 to 4 µs a tensor of
     * 128×128 floats, against under 1 µs. The kernel would copy a non-contiguous gradient first, so other layouts and
     * other devices take {@code _foreach_mul_}, with the factor boxed anew.
     */
    void scale(double factor) {
        AtenOps.BoxedCall call = calls.get("scale");
        if (call == null) {
            if (states.get(0).param.is_cpu() && allTargetsContiguous()) {
                Tensor rateTensor = zeros(new long[0], new TensorOptions(ScalarType.Double));
                // The tensor lives as long as the call's arguments hold it; the data pointer owns nothing.
                scaleRate = rateTensor.data_ptr_double();
                scaleInDouble = states.get(0).target().scalar_type().value == ScalarType.Double.value;
                call = fusedSgd(AtenOps.Ops.FUSED_SGD_TENSOR_LR_, targets(), targets(), 0, new IValue(rateTensor));
            } else {
                call = new AtenOps.BoxedCall(AtenOps.Ops.MUL_SCALAR_, targets(), number(factor));
            }
            calls.put("scale", call);
        }
        if (scaleRate != null) {
            scaleRate.put(1 - (scaleInDouble ? factor : (float) factor));
        } else {
            call.set(1, number(factor));
        }
        call.call();
    }

    /**
     * Sets each first moment {@code m} of the bucket to {@code lerp(m, end, weight)}, {@code end} its entry of
     * {@code ends} (a list laid out as the moments), as {@code _foreach_lerp_} would within a rounding. On the CPU, for
     * contiguous moments, this is {@code _fused_sgd_} with {@code ends} as the gradients, weight decay -1 and learning
     * rate {@code -weight}: {@code m - (end - m) * -weight}, which rounds the product before the sum where
     * {@code lerp} rounds once (and, for {@code |weight| >= 0.5}, starts from {@code end}), so the two differ by
     * about an ulp of the larger of {@code m} and {@code end}. As for {@link #scale}, the kernel walks each tensor's
     * memory where {@code _foreach_lerp_} falls back to one {@code lerp_} and {@code TensorIterator} per tensor.
     * Other layouts and devices take {@code _foreach_lerp_}. The call named {@code name} is boxed on first use with
     * {@code ends} and {@code weight}, which must stay the same for the bucket's life.
     */
    void lerpExpAvgs(String name, IValue ends, double weight) {
        AtenOps.BoxedCall call = calls.get(name);
        if (call == null) {
            if (states.get(0).param.is_cpu() && allContiguous(state -> state.expAvg)) {
                call = fusedSgd(AtenOps.Ops.FUSED_SGD_, expAvgs(), ends, -1, number(-weight));
            } else {
                call = new AtenOps.BoxedCall(AtenOps.Ops.LERP_SCALAR_, expAvgs(), ends, number(weight));
            }
            calls.put(name, call);
        }
        call.call();
    }

    /**
     * A call of {@code _fused_sgd_} ({@code op}: its overload with the learning rate a number or a tensor) without
     * momentum: each of {@code params} becomes {@code p - lr * (g + weightDecay * p)}, {@code g} its entry of
     * {@code grads}.
     */
    private static AtenOps.BoxedCall fusedSgd(OperatorHandle op, IValue params, IValue grads, double weightDecay,
                                              IValue lr) {
        // (self, grads, momentum_buffer_list, weight_decay, momentum, lr, dampening, nesterov, maximize,
        // is_first_step, grad_scale, found_inf)
        return new AtenOps.BoxedCall(op, params, grads, AtenOps.tensorList(List.of()), number(weightDecay),
                number(0), lr, number(0), bool(false), bool(false), bool(false), AtenOps.none(), AtenOps.none());
    }

    private boolean allTargetsContiguous() {
        return allContiguous(ParamState::target);
    }

    private boolean allContiguous(Function<ParamState, Tensor> tensorOf) {
        for (ParamState state : states) {
            if (!tensorOf.apply(state).is_contiguous()) {
                return false;
            }
        }
        return true;
    }

    /**
     * The call of the fused kernel {@code kernel} ({@code _fused_adam_} or {@code _fused_adamw_}) on this bucket's
     * targets, gradients {@code grads}, first moments {@code numerators} (named {@code numeratorsName}) and second
     * moments, with {@code beta1}, {@code beta2} and {@code eps}, boxed on first use and kept.
     */
    FusedKernelCall fusedKernel(OperatorHandle kernel, IValue grads, String numeratorsName, IValue numerators,
                                double beta1, double beta2, double eps) {
        Map<String, FusedKernelCall> ofKernel = kernelCalls.computeIfAbsent(kernel, k -> new HashMap<>());
        FusedKernelCall call = ofKernel.get(numeratorsName);
        if (call == null) {
            call = new FusedKernelCall(kernel, grads, numerators, beta1, beta2, eps);
            ofKernel.put(numeratorsName, call);
        }
        return call;
    }

    /**
     * One fused kernel's call with every argument boxed once. On the CPU the learning rate goes in a float64 tensor
     * ({@code _fused_adam(w)_.tensor_lr}, which reads it with {@code lr.item<double>()}: the same double) that each
     * step rewrites in place; on other devices it is boxed anew each step, as are a weight decay or loss scale that
     * changed since the last step.
     */
    final class FusedKernelCall {

        private static final int LR = 6;
        private static final int WEIGHT_DECAY = 9;
        private static final int GRAD_SCALE = 13;

        private final AtenOps.BoxedCall call;
        /** The learning rate's place in the CPU tensor the kernel reads; null when it is boxed at each call. */
        private final DoublePointer learningRate;
        private final Tensor learningRateTensor;
        private double weightDecay = Double.NaN;
        private boolean scaled;

        private FusedKernelCall(OperatorHandle kernel, IValue grads, IValue numerators, double beta1, double beta2,
                                double eps) {
            boolean cpu = states.get(0).param.is_cpu();
            OperatorHandle op = kernel;
            IValue lr = number(0);
            if (cpu) {
                op = kernel == AtenOps.Ops.FUSED_ADAM_ ? AtenOps.Ops.FUSED_ADAM_TENSOR_LR_
                        : AtenOps.Ops.FUSED_ADAMW_TENSOR_LR_;
                learningRateTensor = NativeMemory.outliveScope(zeros(new long[0],
                        new TensorOptions(ScalarType.Double)));
                learningRate = learningRateTensor.data_ptr_double();
                lr = new IValue(learningRateTensor);
            } else {
                learningRateTensor = null;
                learningRate = null;
            }
            // (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, lr, beta1, beta2, weight_decay,
            // eps, amsgrad, maximize, grad_scale, found_inf)
            call = new AtenOps.BoxedCall(op, targets(), grads, numerators, expAvgSqs(),
                    AtenOps.tensorList(List.of()), stepsWithoutBiasCorrection(), lr, number(beta1), number(beta2),
                    number(0), number(eps), bool(false), bool(false), AtenOps.none(), AtenOps.none());
        }

        /**
         * Calls the kernel with learning rate {@code lr}, weight decay {@code weightDecay}, and {@code gradScale} (a
         * tensor from {@link #gradScale}) or, if null, no loss scale.
         */
        void call(double lr, double weightDecay, IValue gradScale) {
            if (learningRate != null) {
                learningRate.put(lr);
            } else {
                call.set(LR, number(lr));
            }
            if (Double.doubleToRawLongBits(weightDecay) != Double.doubleToRawLongBits(this.weightDecay)) {
                call.set(WEIGHT_DECAY, number(weightDecay));
                this.weightDecay = weightDecay;
            }
            if (gradScale != null) {
                call.set(GRAD_SCALE, gradScale);
            } else if (scaled) {
                call.set(GRAD_SCALE, AtenOps.none());
            }
            scaled = gradScale != null;
            call.call();
        }

        private void release() {
            call.release();
            NativeMemory.release(learningRateTensor);
        }
    }

    private IValue cached(String name, Function<ParamState, Tensor> tensorOf) {
        return lists.computeIfAbsent(name, n -> NativeMemory.outliveScope(list(tensorOf)));
    }

    private IValue list(Function<ParamState, Tensor> tensorOf) {
        List<Tensor> tensors = new ArrayList<>(states.size());
        for (ParamState state : states) {
            tensors.add(tensorOf.apply(state));
        }
        return AtenOps.tensorList(tensors);
    }

    /** Drops the bucket's references to the tensors; the state tensors themselves stay with their parameters. */
    void release() {
        calls.values().forEach(AtenOps.BoxedCall::release);
        calls.clear();
        kernelCalls.values().forEach(ofKernel -> ofKernel.values().forEach(FusedKernelCall::release));
        kernelCalls.clear();
        lists.values().forEach(NativeMemory::release);
        lists.clear();
        NativeMemory.release(gradientView);
        gradientView = null;
        gradScaleValue = null;
        scaleRate = null;
    }
}
