package io.github.optlist.torch;

import io.github.optlist.internal.DeviceDtype;
import io.github.optlist.internal.NativeMemory;
import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;

import static org.bytedeco.pytorch.global.torch.zeros_like;

/**
 * The facts about a parameter recorded when its state was made or last moved ({@link ParamState#follow}), which the
 * state tensors share: they are made with its sizes, and with its strides when it is dense ({@link #zerosLike}). The
 * checks of every step and the path decision read them as plain values, without a native call; a parameter whose
 * device, dtype or strides no longer match has moved. The arrays are never changed once recorded.
 *
 * @param where      the parameter's device and dtype
 * @param deviceName the parameter's device as a name, e.g. {@code cuda:0}, for messages and reports
 * @param stateDtype the {@code ScalarType} value of the moments and of the arithmetic
 *                   ({@link StatePrecision#stateDtypeFor}): float32 for half-precision parameters by default
 * @param shape      the parameter's sizes: the state tensors' sizes
 * @param strides    the parameter's strides
 * @param dense      whether the parameter was dense and non-overlapping
 */
record StateLayout(DeviceDtype where, String deviceName, int stateDtype, long[] shape, long[] strides,
                   boolean dense) {

    /** The layout of {@code tensor} as it is now, with the state dtype {@code precision} gives its dtype. */
    static StateLayout of(Tensor tensor, StatePrecision precision) {
        DeviceDtype where = DeviceDtype.of(tensor);
        return new StateLayout(where, tensor.device().str().getString(),
                StatePrecision.stateDtypeFor(where.dtype(), precision), sizes(tensor), strides(tensor),
                tensor.is_non_overlapping_and_dense());
    }

    /** The parameter's {@code ScalarType} value. */
    int dtype() {
        return where.dtype();
    }

    /** Whether the update runs on float32 copies of a half-precision parameter and its gradient. */
    boolean widened() {
        return stateDtype != dtype();
    }

    /**
     * Whether {@code tensor} has the sizes the state was made for; reads them one by one, without the native
     * {@code ArrayRef} (and its Java wrapper) that {@code sizes()} would allocate per tensor and step.
     */
    boolean hasShape(Tensor tensor) {
        if (tensor.dim() != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (tensor.size(i) != shape[i]) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code tensor} has the strides recorded for the parameter; reads them without allocating. */
    boolean hasStrides(Tensor tensor) {
        if (tensor.dim() != strides.length) {
            return false;
        }
        for (int i = 0; i < strides.length; i++) {
            if (tensor.stride(i) != strides[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code grad}, of the parameter's shape, lays its elements out in memory as the state does: the same
     * strides in every dimension longer than 1 (a dimension of size 1 is never stepped over, whatever its stride).
     */
    boolean laidOutAsState(Tensor grad) {
        if (grad.dim() != strides.length) {
            return false;
        }
        for (int i = 0; i < strides.length; i++) {
            if (grad.stride(i) != strides[i] && grad.size(i) != 1) {
                return false;
            }
        }
        return true;
    }

    /** The strides, read with calls that return plain values: no native object to make and free. */
    static long[] strides(Tensor tensor) {
        long[] out = new long[(int) tensor.dim()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tensor.stride(i);
        }
        return out;
    }

    /** The sizes, read with calls that return plain values. */
    static long[] sizes(Tensor tensor) {
        long[] out = new long[(int) tensor.dim()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tensor.size(i);
        }
        return out;
    }

    /**
     * A state tensor: zeros shaped, placed and (when dense) strided as {@code like} is now, in {@code dtype}, kept
     * beyond the caller's scope until {@link NativeMemory#release}d.
     */
    static Tensor zerosLike(Tensor like, int dtype) {
        return NativeMemory.outliveScope(zeros_like(like,
                new TensorOptions(ScalarTypes.of(dtype)).device(new DeviceOptional(like.device())),
                new MemoryFormatOptional()));
    }
}
