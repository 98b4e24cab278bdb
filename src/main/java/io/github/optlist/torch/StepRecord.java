package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;

import java.util.List;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * The steps of an optimizer and what they leave to report: how many ran ({@link NAdamWCosineDecay#stepCount()}) and
 * how many were skipped for non-finite gradients, the listener told of each skip, and the buckets of the last step
 * ({@link NAdamWCosineDecay#lastStepUpdates()}).
 */
final class StepRecord {

    private long stepCount;
    private long skippedSteps;
    private LongConsumer skipListener = step -> { };
    private List<PathReport> lastUpdates = List.of();

    /**
     * Runs {@code update} (a {@link GroupStepper#stepAll}) and records what it did: one more step and its reports; or
     * after a skip (it returned null: a non-finite check found NaN or infinity) no reports, and, if {@code countSkip},
     * one more skip told to the listener; or, when LibTorch fails, the buckets completed before, and the exception is
     * rethrown. Anything else {@code update} throws passes through, recording nothing.
     *
     * @return whether the step ran
     */
    boolean step(Supplier<List<PathReport>> update, boolean countSkip) {
        List<PathReport> reports;
        try {
            reports = update.get();
        } catch (StepFailedException e) {
            lastUpdates = e.completedUpdates();
            throw e;
        }
        lastUpdates = reports == null ? List.of() : reports;
        if (reports != null) {
            stepCount++;
        } else if (countSkip) {
            skippedSteps++;
            skipListener.accept(stepCount);
        }
        return reports != null;
    }

    long stepCount() {
        return stepCount;
    }

    /** @throws IllegalArgumentException if {@code count} is negative or above {@code CosineSchedule.MAX_STEPS} */
    void setStepCount(long count) {
        if (count < 0 || count > CosineSchedule.MAX_STEPS) {
            throw new IllegalArgumentException("count must be in [0, 2^53] (CosineSchedule.MAX_STEPS), got " + count);
        }
        this.stepCount = count;
    }

    long skippedSteps() {
        return skippedSteps;
    }

    /** @throws IllegalArgumentException if {@code listener} is null */
    void setSkipListener(LongConsumer listener) {
        if (listener == null) {
            throw new IllegalArgumentException("listener must not be null");
        }
        this.skipListener = listener;
    }

    List<PathReport> lastUpdates() {
        return lastUpdates;
    }
}
