package io.github.optlist.internal;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/** Helpers for the messages opt-list reports. */
public final class Messages {

    private Messages() {
    }

    /**
     * The first line of {@code message}, e.g. of a native exception whose message carries a stack trace;
     * {@code ""} for null.
     */
    public static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }

    /** The first line of {@code e}'s message, or its class name when it has none. */
    public static String firstLine(Throwable e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage());
    }

    /**
     * An I/O error that says what failed, where and why: {@code cannot OPERATION PATH: CAUSE}, e.g.
     * {@code cannot write /runs/a/results.jsonl: No space left on device}, with {@code cause} as its cause. Java's
     * own messages often give only the path ({@code NoSuchFileException}) or only the cause (a full disk).
     */
    public static IOException ioFailure(String operation, Path path, IOException cause) {
        return new IOException("cannot " + operation + " " + path + ": " + reason(cause), cause);
    }

    /** Why an I/O operation failed, in words, without the path Java's file-system exceptions put first. */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getOtherFile() == null ? fs.getReason() : fs.getReason() + " (" + fs.getOtherFile() + ")";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "a file of that name is in the way";
        }
        if (e instanceof NotDirectoryException) {
            return "not a folder";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "the folder is not empty";
        }
        if (e instanceof FileSystemException fs) {
            return e.getClass().getSimpleName() + (fs.getFile() == null ? "" : " on " + fs.getFile());
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage());
    }
}
