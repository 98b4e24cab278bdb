package io.github.optlist.torch;

import io.github.optlist.internal.DeviceDtype;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.Layout;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The checks that refuse bad parameters and gradients before any tensor is changed. */
final class TensorChecks {

    private TensorChecks() {
    }

    /** Refuses a tensor the optimizer cannot update in place. */
    static void requireOptimizable(Tensor tensor, String where) {
        if (tensor == null || tensor.isNull()) {
            throw new IllegalArgumentException(where + " is null");
        }
        if (!tensor.defined()) {
            throw new IllegalArgumentException(where + " is an undefined tensor");
        }
        if (!tensor.is_floating_point()) {
            throw new IllegalArgumentException(where + " has dtype " + tensor.scalar_type()
                    + "; only floating-point tensors can be optimized");
        }
        if (!tensor.is_leaf()) {
            throw new IllegalArgumentException(where + " is not a leaf tensor (it is computed from other tensors);"
                    + " optimize the leaves it comes from");
        }
        if (!isStrided(tensor)) {
            throw new IllegalArgumentException(where + " has layout " + tensor.layout() + "; only dense tensors"
                    + " can be optimized");
        }
    }

    /** Refuses a list holding the same tensor (the same storage object) twice. */
    static void requireDistinct(List<Tensor> tensors) {
        Map<Long, Integer> seen = new HashMap<>();
        for (int i = 0; i < tensors.size(); i++) {
            Integer first = seen.putIfAbsent(identity(tensors.get(i)), i);
            if (first != null) {
                throw new IllegalArgumentException("params[" + i + "] is the same tensor as params[" + first
                        + "]; a tensor can be optimized only once");
            }
        }
    }

    /** The address of the tensor's implementation: equal for two handles of one tensor. */
    static long identity(Tensor tensor) {
        return tensor.unsafeGetTensorImpl().address();
    }

    /** Whether the tensor is dense; compares values because the presets return fresh enum objects. */
    static boolean isStrided(Tensor tensor) {
        return tensor.layout().value == Layout.Strided.value;
    }

    /** Refuses a gradient the dense update cannot apply. */
    static void requireDenseGradient(Tensor grad, String where) {
        if (!isStrided(grad)) {
            throw new IllegalArgumentException(where + " has a sparse gradient (layout " + grad.layout()
                    + "); NAdamW needs dense gradients, as torch.optim.AdamW does");
        }
    }

    /**
     * Refuses a gradient on another device than its parameter, which every path would fail on part-way. Compares
     * with where the parameter is now: the state follows a parameter that moved.
     */
    static void requireSameDevice(Tensor grad, Tensor param, String where) {
        if (!DeviceDtype.of(grad).sameDevice(DeviceDtype.of(param))) {
            throw new IllegalArgumentException(where + " is on " + param.device().str().getString()
                    + " but its gradient is on " + grad.device().str().getString());
        }
    }
}
