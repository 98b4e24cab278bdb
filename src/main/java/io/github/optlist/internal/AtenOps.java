package io.github.optlist.internal;

import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorType;
import org.bytedeco.pytorch.Type;

import java.util.List;

/**
 * The ATen operators the presets do not map ({@code _foreach_*}, {@code _fused_adam(w)_},
 * {@code _amp_foreach_non_finite_check_and_unscale_}), reached through the c10
 * dispatcher with boxed calls. Their schemas are looked up once; a call builds one stack of {@link IValue}s. Every
 * object created here belongs to the caller's {@code PointerScope} unless kept with {@link NativeMemory}. Not API.
 */
public final class AtenOps {

    private AtenOps() {
    }

    /** The operators, found on first use; held by a class that fails to load if LibTorch lacks one of them. */
    public static final class Ops {
        public static final OperatorHandle COPY_ = find("aten::_foreach_copy_", "");
        public static final OperatorHandle LERP_SCALAR_ = find("aten::_foreach_lerp_", "Scalar");
        public static final OperatorHandle MUL_SCALAR_ = find("aten::_foreach_mul_", "Scalar");
        public static final OperatorHandle DIV_SCALAR_ = find("aten::_foreach_div_", "Scalar");
        public static final OperatorHandle ADD_SCALAR_ = find("aten::_foreach_add_", "Scalar");
        public static final OperatorHandle ADD_LIST_ = find("aten::_foreach_add_", "List");
        public static final OperatorHandle ADDCMUL_SCALAR_ = find("aten::_foreach_addcmul_", "Scalar");
        public static final OperatorHandle ADDCDIV_SCALAR_ = find("aten::_foreach_addcdiv_", "Scalar");
        public static final OperatorHandle SQRT_ = find("aten::_foreach_sqrt_", "");
        public static final OperatorHandle FUSED_ADAM_ = find("aten::_fused_adam_", "");
        public static final OperatorHandle FUSED_ADAMW_ = find("aten::_fused_adamw_", "");
        public static final OperatorHandle NON_FINITE_CHECK_AND_UNSCALE_ =
                find("aten::_amp_foreach_non_finite_check_and_unscale_", "");

        private Ops() {
        }

        private static OperatorHandle find(String name, String overload) {
            return NativeMemory.outliveScope(Dispatcher.singleton().findSchemaOrThrow(name, overload));
        }
    }

    private static volatile Boolean available;

    /** Whether this LibTorch has every operator used here; the multi-tensor and fused paths need them. */
    public static boolean available() {
        Boolean known = available;
        if (known == null) {
            try {
                known = Ops.FUSED_ADAMW_ != null;
            } catch (LinkageError | RuntimeException missing) {
                known = false;
            }
            available = known;
        }
        return known;
    }

    /** Calls {@code op} with {@code args} in schema order; in-place operators leave nothing to read back. */
    public static void call(OperatorHandle op, IValue... args) {
        op.callBoxed(new IValueVector(args));
    }

    /**
     * Calls {@code _fused_adam_} or {@code _fused_adamw_} ({@code kernel}) without AMSGrad, maximization or gradient
     * scaling: the arguments of the Adam update itself, in the kernels' schema order.
     */
    public static void fusedAdam(OperatorHandle kernel, IValue params, IValue grads, IValue expAvgs, IValue expAvgSqs,
                          IValue stateSteps, double lr, double beta1, double beta2, double weightDecay, double eps,
                          IValue gradScale) {
        call(kernel, params, grads, expAvgs, expAvgSqs,
                tensorList(List.of()), // max_exp_avg_sqs: no AMSGrad
                stateSteps,
                number(lr), number(beta1), number(beta2), number(weightDecay), number(eps),
                bool(false), // amsgrad
                bool(false), // maximize
                gradScale, none()); // grad_scale (a float32 scalar the kernel divides the gradients by), found_inf
    }

    /** A {@code Tensor[]} argument. */
    public static IValue tensorList(List<Tensor> tensors) {
        GenericList list = new GenericList(new Type.TypePtr(TensorType.get()));
        list.reserve(tensors.size());
        for (Tensor tensor : tensors) {
            list.push_back(new IValue(tensor));
        }
        return new IValue(list);
    }

    /** A {@code float} or {@code Scalar} argument. */
    public static IValue number(double value) {
        return new IValue(value);
    }

    /** A {@code bool} argument. */
    public static IValue bool(boolean value) {
        return new IValue(value);
    }

    /** An absent optional argument. */
    public static IValue none() {
        return new IValue();
    }
}
