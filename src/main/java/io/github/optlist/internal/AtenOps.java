package io.github.optlist.internal;

import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorList;
import org.bytedeco.pytorch.TensorType;
import org.bytedeco.pytorch.Type;

import java.util.List;

/**
 * The ATen operators the presets do not map ({@code _foreach_*}, {@code _fused_adam(w)_}, {@code _fused_sgd_},
 * {@code _amp_foreach_non_finite_check_and_unscale_}), reached through the c10
 * dispatcher with boxed calls. Their schemas are looked up once; {@link #call} builds one stack of {@link IValue}s,
 * a {@link BoxedCall} boxes its arguments once and is called again and again. Every object created here belongs to
 * the caller's {@code PointerScope} unless kept with {@link NativeMemory}. Not API.
 *
 * <p>Each native object made costs microseconds (JavaCPP registers it for release, and checks the process's
 * memory use, at every allocation): a step that boxed its arguments anew spent more on that than a small model's
 * update itself. What a step calls every time is therefore boxed once and refilled in place.
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
        /** {@code _fused_adam_} with the learning rate in a tensor, which a step rewrites in place. */
        public static final OperatorHandle FUSED_ADAM_TENSOR_LR_ = find("aten::_fused_adam_", "tensor_lr");
        /** {@code _fused_adamw_} with the learning rate in a tensor, which a step rewrites in place. */
        public static final OperatorHandle FUSED_ADAMW_TENSOR_LR_ = find("aten::_fused_adamw_", "tensor_lr");
        /**
         * {@code _fused_sgd_} with the learning rate in a tensor: on the CPU, with the parameters as their own
         * gradients, the decoupled decay {@code p -= lr * p} of many tensors in one call.
         */
        public static final OperatorHandle FUSED_SGD_TENSOR_LR_ = find("aten::_fused_sgd_", "tensor_lr");
        /**
         * {@code _fused_sgd_} with the learning rate a number: on the CPU, with weight decay -1, the
         * {@code m + w * (g - m)} of many tensors in one call.
         */
        public static final OperatorHandle FUSED_SGD_ = find("aten::_fused_sgd_", "");
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
     * One call of an operator whose argument list is boxed once, at construction; {@link #call()} copies the list
     * onto the call's stack (a boxed call consumes its stack) and calls, allocating nothing. An argument that
     * changes is replaced with {@link #set}, or refilled in place: a list from {@link #tensorList} through its
     * {@link TensorList} view, a tensor by writing into it. The lists, the stack and the tensors they hold are kept
     * beyond the caller's scope until {@link #release()}.
     */
    public static final class BoxedCall {

        private final OperatorHandle op;
        private final IValueVector arguments;
        private final IValueVector stack;

        /** A call of {@code op} with {@code arguments} in schema order, copied. */
        public BoxedCall(OperatorHandle op, IValue... arguments) {
            this.op = op;
            this.arguments = NativeMemory.outliveScope(new IValueVector(arguments));
            this.stack = NativeMemory.outliveScope(new IValueVector());
        }

        /** Replaces argument {@code index} with a copy of {@code value}. */
        public void set(int index, IValue value) {
            arguments.put(index, value);
        }

        /** Calls the operator with the current arguments. */
        public void call() {
            op.callBoxed(stack.put(arguments));
            // An in-place operator returns nothing; clearing drops any reference the call left on the stack.
            stack.clear();
        }

        /** Frees the argument list and the stack, and with them the references to the tensors they held. */
        public void release() {
            NativeMemory.release(arguments);
            NativeMemory.release(stack);
        }
    }

    /**
     * Sets element {@code i} of the {@code Tensor[]} argument that {@code view} (an {@link IValue#toTensorList()} of
     * a {@link #tensorList}) shares, for every {@code i}: refills a boxed list in place, without a native allocation.
     *
     * @throws IllegalArgumentException if the sizes differ
     */
    public static void refill(TensorList view, List<Tensor> tensors) {
        if (view.size() != tensors.size()) {
            throw new IllegalArgumentException("a list of " + view.size() + " tensors cannot hold " + tensors.size());
        }
        for (int i = 0; i < tensors.size(); i++) {
            view.set(i, tensors.get(i));
        }
    }

    /**
     * Empties every element of the list {@code view} shares (sets it to an undefined tensor), so that a kept list
     * holds no tensor alive between calls; allocates nothing.
     */
    public static void empty(TensorList view) {
        for (long i = 0; i < view.size(); i++) {
            view.set(i, UNDEFINED);
        }
    }

    /** The undefined tensor {@link #empty} fills with; kept for the life of the process. */
    private static final Tensor UNDEFINED = NativeMemory.outliveScope(new Tensor());

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
