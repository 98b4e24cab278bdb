package io.github.optlist.internal;

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
}
