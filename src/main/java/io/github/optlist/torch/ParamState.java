package io.github.optlist.torch;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Set;

import static org.bytedeco.pytorch.global.torch.zeros_like;

/**
 * The optimizer's state for one parameter: its step count, both moments, and the scratch buffers the update paths
 * write into so that a step allocates nothing. The moments are created on the parameter's first update, on the
 * device, in the dtype and with the strides the parameter has then; a scratch buffer only when a path first needs it.
 */
final class ParamState {

    private static final Set<Integer> FUSED_DTYPES = Set.of((int) ScalarType.Double.value,
            (int) ScalarType.Float.value, (int) ScalarType.Half.value, (int) ScalarType.BFloat16.value);

    final Tensor param;
    /** Where the parameter stands, e.g. {@code params[2] of group 0}, for messages. */
    final String position;
    /** Number of updates applied to this parameter; the next update is step {@code step} (0-based). */
    long step;
    Tensor expAvg;
    Tensor expAvgSq;
    /** The parameter's {@linkplain TensorChecks#deviceCode device code} when the moments were created. */
    int deviceCode;
    /** The parameter's {@code ScalarType} value when the moments were created. */
    int dtype;
    /** Whether the fused kernels exist for the parameter's device and dtype. */
    boolean fusedKernelApplies;
    /** {@code sqrt(v) + epsilon} on the single- and multi-tensor paths, the Nesterov numerator on the fused one. */
    private Tensor scratch;
    /** {@code grad - l2 * p} on the single- and multi-tensor paths, for configurations with an L2 term. */
    private Tensor l2Gradient;

    ParamState(Tensor param, String position) {
        this.param = param;
        this.position = position;
    }

    boolean initialized() {
        return expAvg != null;
    }

    /** Allocates the moments; called inside a no-grad region. */
    void initialize() {
        expAvg = newBuffer();
        expAvgSq = newBuffer();
        dtype = param.scalar_type().value;
        deviceCode = TensorChecks.deviceCode(param);
        fusedKernelApplies = (param.is_cpu() || param.is_cuda()) && FUSED_DTYPES.contains(dtype);
    }

    /** The parameter-sized scratch buffer, allocated on first use. */
    Tensor scratch() {
        if (scratch == null) {
            scratch = newBuffer();
        }
        return scratch;
    }

    /** The buffer for {@code grad - l2 * p}, allocated on first use. */
    Tensor l2Gradient() {
        if (l2Gradient == null) {
            l2Gradient = newBuffer();
        }
        return l2Gradient;
    }

    private Tensor newBuffer() {
        return NativeMemory.outliveScope(zeros_like(param));
    }

    /** Frees the state tensors; the parameter itself belongs to its group. */
    void release() {
        NativeMemory.release(expAvg);
        NativeMemory.release(expAvgSq);
        NativeMemory.release(scratch);
        NativeMemory.release(l2Gradient);
        expAvg = expAvgSq = scratch = l2Gradient = null;
    }
}
