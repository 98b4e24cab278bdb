package io.github.optlist.torch;

import java.io.IOException;

/**
 * A checkpoint file that cannot be loaded into this optimizer: damaged (an entry failing its zip CRC32, or a broken
 * archive structure; the message names the entry or the structure), truncated, foreign, from another model or
 * configuration, or from a newer format. The message names the file. The optimizer is unchanged when this is
 * thrown.
 */
public final class CheckpointException extends IOException {

    private static final long serialVersionUID = 1L;

    /** A refusal with a message saying what is wrong and with which file. */
    public CheckpointException(String message) {
        super(message);
    }

    /** A refusal caused by a lower-level failure, e.g. LibTorch failing to parse the archive. */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
