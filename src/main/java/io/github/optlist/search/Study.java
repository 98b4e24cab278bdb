package io.github.optlist.search;

import io.github.optlist.search.study.StorageUrl;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where a search keeps its trials: a study in an Optuna database, shared by every worker that runs the same search
 * on it, and how those workers keep their running trials alive.
 *
 * <p>{@code storage} is a URL as Optuna writes it: {@code sqlite:///PATH} (three slashes before a relative path,
 * four before an absolute one) or {@code postgresql://USER@HOST:PORT/DB}. A PostgreSQL password comes from the URL,
 * {@code PGPASSWORD} or {@code ~/.pgpass}; it is never printed. Workers on many machines share a PostgreSQL
 * study; SQLite serves the workers of one machine.
 *
 * @param storage           the database URL
 * @param name              the study's name; null for a name derived from the search's settings
 *                          ({@link #nameFor})
 * @param heartbeatInterval how often a running trial records that its worker is alive
 * @param gracePeriod       how long a running trial may go without a heartbeat before any worker fails it and
 *                          enqueues it again
 * @param maxRetries        how many times a trial whose worker died is enqueued again
 */
public record Study(String storage, String name, Duration heartbeatInterval, Duration gracePeriod, int maxRetries) {

    /** The study file of a search folder that names no storage. */
    public static final String FILE = "study.db";
    /** The default heartbeat interval, as Optuna's examples use: one minute. */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(60);
    /** The default number of retries of a trial whose worker died, as Optuna's {@code RetryFailedTrialCallback}. */
    public static final int DEFAULT_MAX_RETRIES = 3;
    private static final int MAX_NAME_LENGTH = 512;

    /**
     * Validates every field.
     *
     * @throws IllegalArgumentException if {@code storage} is null or not a URL of an accepted scheme (naming the
     *                                  accepted ones), {@code name} is blank or over 512 characters, the heartbeat
     *                                  interval is under one second, the grace period is not longer than it, or
     *                                  {@code maxRetries} is negative
     */
    public Study {
        if (storage == null) {
            throw new IllegalArgumentException("storage must not be null");
        }
        StorageUrl.parse(storage);
        if (name != null && (name.isBlank() || name.length() > MAX_NAME_LENGTH)) {
            throw new IllegalArgumentException("study name must be 1-" + MAX_NAME_LENGTH + " characters, not blank,"
                    + " got '" + name + "'");
        }
        if (heartbeatInterval == null || heartbeatInterval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("heartbeat interval must be at least 1 s, got " + heartbeatInterval);
        }
        if (gracePeriod == null || gracePeriod.compareTo(heartbeatInterval) <= 0) {
            throw new IllegalArgumentException("grace period must be longer than the heartbeat interval "
                    + heartbeatInterval.toSeconds() + " s, got " + gracePeriod);
        }
        if (maxRetries < 0) {
            throw new IllegalArgumentException("max retries must be >= 0, got " + maxRetries);
        }
    }

    /**
     * The study of a search folder: {@code FOLDER/study.db} (SQLite), its name derived from the settings, with the
     * default heartbeat interval, a grace period of twice that, and the default retries.
     *
     * @throws IllegalArgumentException if {@code folder} is null
     */
    public static Study in(Path folder) {
        if (folder == null) {
            throw new IllegalArgumentException("folder must not be null");
        }
        return at(StorageUrl.sqlite(folder.resolve(FILE)).toString(), null);
    }

    /**
     * The study {@code name} (null: derived from the settings) in the database at {@code storage}, with the default
     * heartbeat interval, a grace period of twice that, and the default retries.
     *
     * @throws IllegalArgumentException as the record's constructor
     */
    public static Study at(String storage, String name) {
        return new Study(storage, name, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_INTERVAL.multipliedBy(2),
                DEFAULT_MAX_RETRIES);
    }

    /**
     * The study's name for a search of {@code settings}: {@link #name()} when given, otherwise one derived from the
     * task, training steps, variant and seed, e.g. {@code seed-mlp-1000steps-taskset-seed0}.
     */
    public String nameFor(SearchSettings settings) {
        if (name != null) {
            return name;
        }
        return settings.task() + "-" + settings.trainingSteps() + "steps-"
                + settings.variant().name().toLowerCase(java.util.Locale.ROOT) + "-seed" + settings.seed();
    }

    /** The storage URL as messages show it: its password masked. */
    public String where() {
        return StorageUrl.parse(storage).toString();
    }

    /** The fields, the storage URL's password masked. */
    @Override
    public String toString() {
        return "Study[storage=" + where() + ", name=" + name + ", heartbeatInterval="
                + heartbeatInterval + ", gracePeriod=" + gracePeriod + ", maxRetries=" + maxRetries + "]";
    }
}
