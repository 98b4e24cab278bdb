package io.github.optlist.torch;

import java.util.List;
import java.util.Optional;

/**
 * Thrown by {@link NAdamWCosineDecay#step()} when LibTorch fails after every input check has passed (a kernel error,
 * or no memory left on the device for the state), with LibTorch's exception as the cause. The message says what was
 * being done: checking the gradients for NaN and infinity, preparing a parameter's state, or updating a bucket (its
 * group, parameters and path).
 *
 * <p>The optimizer is then in this state: its {@link NAdamWCosineDecay#stepCount()} has not advanced. The buckets of
 * {@link #completedUpdates()} were fully updated: their parameters, moments and step counts are consistent and
 * advanced by one. The bucket of {@link #failedUpdate()}, if any, was being updated: its parameters and moments may
 * be partly updated while their step counts did not advance, so they should be restored (from a checkpoint) before
 * training goes on. The buckets after it are unchanged. With no failed bucket, no parameter was changed.
 */
public final class StepFailedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient List<UpdatePath.Report> completedUpdates;
    private final transient UpdatePath.Report failedUpdate;

    StepFailedException(String message, List<UpdatePath.Report> completedUpdates, UpdatePath.Report failedUpdate,
                        RuntimeException cause) {
        super(message + ": " + cause.getMessage(), cause);
        this.completedUpdates = List.copyOf(completedUpdates);
        this.failedUpdate = failedUpdate;
    }

    /** The buckets updated in full before the failure, in update order. */
    public List<UpdatePath.Report> completedUpdates() {
        return completedUpdates;
    }

    /** The bucket being updated when LibTorch failed, whose tensors may be partly updated; empty if none was. */
    public Optional<UpdatePath.Report> failedUpdate() {
        return Optional.ofNullable(failedUpdate);
    }
}
