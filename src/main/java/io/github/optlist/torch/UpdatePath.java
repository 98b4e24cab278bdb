package io.github.optlist.torch;

import java.util.List;

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
    SINGLE_TENSOR;

    /**
     * Which path updated one bucket of parameters at the last {@link NAdamWCosineDecay#step()}, and why when it was a
     * slower one than asked for: a bucket is the parameters of one group that shared a device, a dtype, a step count
     * and
     * an update path. Read them with
     * {@link NAdamWCosineDecay#lastStepUpdates()} to see which path ran, and why a slower one was taken.
     *
     * @param group          the group's index
     * @param params         the parameters' indices in their group, in group order
     * @param path           the path that applied the update
     * @param device         the parameters' device, e.g. {@code cpu} or {@code cuda:0}
     * @param dtype          the parameters' dtype, e.g. {@code Float} or {@code BFloat16}
     * @param stateDtype     the dtype of the moments and of the arithmetic, e.g. {@code Float} for a {@code BFloat16}
     *                       parameter under {@link StatePrecision#FLOAT32}
     * @param step           the update's step (0-based), which sets its learning rate
     * @param fallbackReason why the path is slower than {@link OptimizerOptions#updatePath()}, naming the first
     *                       parameter concerned; empty when it is not
     */
    public record Report(int group, List<Integer> params, UpdatePath path, String device, String dtype,
                               String stateDtype, long step, String fallbackReason) {

        /** Copies {@code params}. */
        public Report {
            params = List.copyOf(params);
        }

        /** Whether a slower path than the one asked for ran. */
        public boolean fellBack() {
            return !fallbackReason.isEmpty();
        }
    }
}
