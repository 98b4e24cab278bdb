package io.github.optlist.distributed;

/**
 * A collective operation or the rendezvous failed: a rank is missing, died, timed out, or disagrees with the others
 * (world size, parameter shapes). The group is unusable afterwards; close it and end the process.
 */
public final class DistributedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An error with a message saying what failed and what to check. */
    public DistributedException(String message) {
        super(message);
    }

    /** An error with a message and the native error behind it. */
    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
