package io.github.optlist.search.study;

/**
 * The study database refused or failed an operation: unreachable, wrong credentials, not Optuna's schema, another
 * search's study, a read-only file, a trial no longer running. The message says which, naming the database (never
 * its password); nothing of the operation was written.
 */
public class StudyStorageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with {@code message}. */
    public StudyStorageException(String message) {
        super(message);
    }

    /** An exception with {@code message} and the driver's {@code cause}. */
    public StudyStorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
