package io.github.optlist.internal;

import io.github.optlist.CosineSchedule;

import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * What every optimizer of the library keeps beside its tensors, written once for {@code NAdamWCosineDecay} and
 * {@code ZeroRedundancyOptimizer}: whether it is closed (its {@link CallGuard}), how many steps ran, how many were
 * skipped for non-finite gradients, and the listener told of each skip. Not thread-safe, as the optimizers.
 */
public final class OptimizerBookkeeping {

    private final CallGuard calls = new CallGuard("optimizer");
    private long stepCount;
    private long skippedSteps;
    private LongConsumer skipListener = step -> { };

    /**
     * Enters a call that uses the optimizer's parameters or state ({@link CallGuard#enter()}).
     *
     * @throws IllegalStateException if the optimizer is closed
     */
    public CallGuard.Call enter() {
        return calls.enter();
    }

    /**
     * Marks the optimizer closed if no call is in progress ({@link CallGuard#close()}).
     *
     * @return true if this call closed it, false if it was closed already
     * @throws IllegalStateException if another thread is in a call; nothing changes then
     */
    public boolean close() {
        return calls.close();
    }

    /** Opens the optimizer again after {@link #close()} returned true, when freeing its state failed. */
    public void reopen() {
        calls.reopen();
    }

    /**
     * Runs one step's {@code update} and counts it: one more step if it returns a value (what the step did), or, if it
     * returns null (the step was skipped for a non-finite gradient) and {@code countSkip}, one more skip, told to the
     * listener with the step count. What {@code update} throws passes through, counting nothing.
     *
     * @return what {@code update} returned
     */
    public <R> R step(Supplier<R> update, boolean countSkip) {
        R done = update.get();
        if (done != null) {
            stepCount++;
        } else if (countSkip) {
            skippedSteps++;
            skipListener.accept(stepCount);
        }
        return done;
    }

    /** The number of steps that ran. */
    public long stepCount() {
        return stepCount;
    }

    /**
     * Sets the step count, e.g. from a loaded state.
     *
     * @throws IllegalArgumentException if {@code count} is negative or above {@code CosineSchedule.MAX_STEPS}
     */
    public void setStepCount(long count) {
        if (count < 0 || count > CosineSchedule.MAX_STEPS) {
            throw new IllegalArgumentException("count must be in [0, 2^53] (CosineSchedule.MAX_STEPS), got " + count);
        }
        this.stepCount = count;
    }

    /** The number of steps skipped for non-finite gradients. */
    public long skippedSteps() {
        return skippedSteps;
    }

    /**
     * Sets the listener told of each skipped step.
     *
     * @throws IllegalStateException    if the optimizer is closed
     * @throws IllegalArgumentException if {@code listener} is null
     */
    public void setSkipListener(LongConsumer listener) {
        try (CallGuard.Call call = calls.enter()) {
            if (listener == null) {
                throw new IllegalArgumentException("listener must not be null");
            }
            this.skipListener = listener;
        }
    }
}
