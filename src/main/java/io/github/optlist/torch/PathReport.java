package io.github.optlist.torch;

import java.util.List;

/**
 * Which path updated one bucket of parameters at the last {@link NAdamWCosineDecay#step()}, and why when it was a
 * slower one than asked for: a bucket is the parameters of one group that shared a device, a dtype, a step count and
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
public record PathReport(int group, List<Integer> params, UpdatePath path, String device, String dtype,
                           String stateDtype, long step, String fallbackReason) {

    /** Copies {@code params}. */
    public PathReport {
        params = List.copyOf(params);
    }

    /** Whether a slower path than the one asked for ran. */
    public boolean fellBack() {
        return !fallbackReason.isEmpty();
    }
}
