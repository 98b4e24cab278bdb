package io.github.optlist.reproduce;

import io.github.optlist.search.SearchListener;

/**
 * Told what a {@link Reproduce} run is doing, e.g. to show progress. {@link #searchStarted} is called once, with
 * the trials of every task; the other calls come from worker threads and must be thread-safe.
 */
public interface ReproduceListener extends SearchListener {

    /** A listener that ignores everything. */
    ReproduceListener NONE = new ReproduceListener() {
    };

    /** Task {@code position} (from 1) of {@code count} starts, with {@code steps} training steps per trial. */
    default void taskStarted(String task, int position, int count, long steps) {
    }
}
