package io.github.optlist;

/**
 * Which length of linear warm-up a schedule uses.
 *
 * <p>The two published implementations of the list disagree on the warm-up of entries that have one.
 * Both warm up linearly from 0 to the peak learning rate and hold the peak until the cosine decay starts
 * at {@code T * constantFraction}; they differ in where the warm-up ends.
 */
public enum ScheduleVariant {
    /**
     * Warm-up over {@code T * min(warmupFraction, constantFraction)} steps: the schedule of the TaskSet
     * code that trained and ranked the list. The default.
     */
    TASKSET,
    /**
     * Warm-up over {@code T * max(warmupFraction, constantFraction)} steps: the schedule of the published
     * PyTorch and JAX ports, reproduced step for step.
     */
    TORCH_PORT
}
