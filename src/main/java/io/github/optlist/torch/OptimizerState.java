package io.github.optlist.torch;

import io.github.optlist.ListVariant;

import java.util.List;

/**
 * The whole state of an optimizer, as torch's {@code optimizer.state_dict()}: the training length, the list variant
 * and state precision it runs with, its step count, and per parameter group its configuration and per parameter
 * its state.
 *
 * <p>The constructor refuses, with an {@link IllegalArgumentException}, null components, a training length below 1,
 * a negative step count and an empty or null-holding group list.
 *
 * @param trainingSteps  the training length the schedule runs over
 * @param variant        the list variant the optimizer runs as
 * @param statePrecision what the optimizer keeps for half-precision parameters
 * @param stepCount      the number of completed steps
 * @param groups         the parameter groups in order
 */
public record OptimizerState(long trainingSteps, ListVariant variant, StatePrecision statePrecision,
                             long stepCount, List<GroupState> groups) {

    /** Validates; see the class description. */
    public OptimizerState {
        if (trainingSteps < 1) {
            throw new IllegalArgumentException("trainingSteps must be at least 1, got " + trainingSteps);
        }
        if (variant == null || statePrecision == null) {
            throw new IllegalArgumentException("variant and statePrecision must not be null");
        }
        if (stepCount < 0) {
            throw new IllegalArgumentException("stepCount must not be negative, got " + stepCount);
        }
        if (groups == null || groups.isEmpty() || groups.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("an optimizer state needs at least one group and no null group");
        }
        groups = List.copyOf(groups);
    }
}
