package io.github.optlist.torch.files;

import java.io.IOException;

/**
 * A file of this package's formats that is refused: damaged, truncated, foreign, of another kind, from a newer
 * format, or not fitting the optimizer it is read for. The message names the file and what is wrong; the optimizer's
 * package gives it to the user as its {@code RefusedFileException}, message unchanged.
 */
public final class RefusedFileException extends IOException {

    private static final long serialVersionUID = 1L;

    /** A refusal with a message saying what is wrong and with which file. */
    public RefusedFileException(String message) {
        super(message);
    }

    /** A refusal caused by a lower-level failure. */
    public RefusedFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
