package io.github.optlist.torch;

import io.github.optlist.internal.NativeMemory;
import org.bytedeco.pytorch.Tensor;

/**
 * The parameter-sized buffers the update paths write into so that a step allocates nothing after a parameter's first
 * update: each made on first use, shaped, strided and placed as the parameter and in the state dtype of one
 * {@link StateLayout}. Holds no value from one step to the next: a state that moves or is replaced drops its set
 * ({@link #release}) and makes a new one for the new layout.
 */
final class ScratchBuffers {

    private final Tensor param;
    private final int dtype;
    /** {@code sqrt(v) + epsilon} on the single- and multi-tensor paths, the Nesterov numerator on the fused one. */
    private Tensor scratch;
    /** {@code grad - l2 * p} on the single- and multi-tensor paths, for configurations with an L2 term. */
    private Tensor l2Gradient;
    /** The float32 copy of a half-precision parameter the update runs on under {@code FLOAT32}. */
    private Tensor work;
    /** The float32 copy of a half-precision parameter's gradient. */
    private Tensor gradWork;

    /** Buffers like {@code param} in the {@code ScalarType} value {@code dtype}; none is made yet. */
    ScratchBuffers(Tensor param, int dtype) {
        this.param = param;
        this.dtype = dtype;
    }

    /** The float32 working copy of the parameter, allocated on first use. */
    Tensor work() {
        if (work == null) {
            work = StateLayout.zerosLike(param, dtype);
        }
        return work;
    }

    /** The float32 buffer a widened update copies the gradient into, allocated on first use. */
    Tensor gradWork() {
        if (gradWork == null) {
            gradWork = StateLayout.zerosLike(param, dtype);
        }
        return gradWork;
    }

    /** The parameter-sized scratch buffer in the state dtype, allocated on first use. */
    Tensor scratch() {
        if (scratch == null) {
            scratch = StateLayout.zerosLike(param, dtype);
        }
        return scratch;
    }

    /** The buffer for {@code grad - l2 * p} in the state dtype, allocated on first use. */
    Tensor l2Gradient() {
        if (l2Gradient == null) {
            l2Gradient = StateLayout.zerosLike(param, dtype);
        }
        return l2Gradient;
    }

    /** Frees the buffers made so far. */
    void release() {
        NativeMemory.release(scratch);
        NativeMemory.release(l2Gradient);
        NativeMemory.release(work);
        NativeMemory.release(gradWork);
        scratch = l2Gradient = work = gradWork = null;
    }
}
