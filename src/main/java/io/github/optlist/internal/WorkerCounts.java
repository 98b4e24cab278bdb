package io.github.optlist.internal;

/** The check of a worker and thread count that search and reproduce settings make. Not API. */
public final class WorkerCounts {

    private WorkerCounts() {
    }

    /**
     * Refuses a worker count below 1 and a negative thread count, naming the value.
     *
     * @throws SettingException if {@code workers < 1} or {@code threadsPerWorker < 0}
     */
    public static void require(int workers, int threadsPerWorker) {
        if (workers < 1) {
            throw new SettingException("workers", "must be >= 1, got " + workers);
        }
        if (threadsPerWorker < 0) {
            throw new SettingException("threadsPerWorker", "must be >= 0 (0: divide the cores), got "
                    + threadsPerWorker);
        }
    }
}
