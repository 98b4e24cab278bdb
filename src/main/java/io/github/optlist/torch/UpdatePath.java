package io.github.optlist.torch;

/**
 * How {@link NAdamWCosineDecay#step()} applies the update, as torch.optim's {@code foreach} and {@code fused}
 * flags: each value names the fastest path the optimizer may use, and it takes a slower one wherever the faster
 * cannot run. All three compute the same update; they differ only in rounding (float64 results agree to about
 * 1e-12 relative to the tensor's magnitude).
 */
public enum UpdatePath {

    /**
     * ATen's fused Adam kernels ({@code _fused_adamw_}, {@code _fused_adam_}): one pass over parameter, gradient and
     * moments per tensor, plus one copy and one interpolation for Nesterov entries and one scaling when an entry has
     * both an L2 term and decoupled decay. Runs on float64, float32, float16 and bfloat16 tensors on CPU and CUDA
     * whose layout is dense and non-overlapping (contiguous, channels-last, transposed, ...) with the gradient's
     * strides; other tensors take the {@link #MULTI_TENSOR} path, which
     * {@link NAdamWCosineDecay#lastStepUpdates()} reports with the reason. The default.
     */
    FUSED,

    /**
     * ATen's multi-tensor {@code _foreach_*} ops: about ten native calls per step for all the tensors that share a
     * device, dtype and step count, whatever their number.
     */
    MULTI_TENSOR,

    /** One in-place op at a time per tensor: the readable reference the other paths are tested against. */
    SINGLE_TENSOR
}
