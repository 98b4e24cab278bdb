package io.github.optlist.internal;

import io.github.optlist.CosineSchedule;

/**
 * The check of a training length that optimizer specs and optimizer states make, with the messages
 * {@link CosineSchedule#learningRate} gives (the core imports no other package, so it keeps its own copy). Not API.
 */
public final class TrainingSteps {

    private TrainingSteps() {
    }

    /**
     * Refuses a training length that is not positive or exceeds {@link CosineSchedule#MAX_STEPS}.
     *
     * @throws IllegalArgumentException if {@code trainingSteps <= 0} or {@code trainingSteps > MAX_STEPS}
     */
    public static void require(long trainingSteps) {
        if (trainingSteps <= 0) {
            throw new IllegalArgumentException("trainingSteps must be > 0, got " + trainingSteps);
        }
        if (trainingSteps > CosineSchedule.MAX_STEPS) {
            throw new IllegalArgumentException("trainingSteps must be at most 2^53 (CosineSchedule.MAX_STEPS), got "
                    + trainingSteps);
        }
    }
}
