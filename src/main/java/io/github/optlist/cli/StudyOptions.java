package io.github.optlist.cli;

import io.github.optlist.search.Study;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;

/** Where a search's study lives and how its workers keep their trials alive. A picocli mixin of {@code search}. */
final class StudyOptions {

    @Option(names = "--storage", paramLabel = "URL", description = "The study's database, as Optuna's URL:"
            + " sqlite:///PATH (one machine) or postgresql://USER@HOST:PORT/DB (many); the password from the URL,"
            + " PGPASSWORD or ~/.pgpass (default: sqlite in --out, OUT/study.db).")
    String storage;

    @Option(names = "--study", paramLabel = "NAME", description = "The study's name (default: from the task, steps,"
            + " variant and seed, e.g. seed-mlp-1000steps-taskset-seed0).")
    String name;

    @Option(names = "--heartbeat-interval", paramLabel = "SECONDS", defaultValue = "60",
            description = "How often a running trial says its worker is alive (default: ${DEFAULT-VALUE}).")
    long heartbeatSeconds;

    @Option(names = "--grace-period", paramLabel = "SECONDS", description = "How long a running trial may go"
            + " without a heartbeat before another worker fails and enqueues it again (default: twice the interval).")
    Long graceSeconds;

    @Option(names = "--max-retries", defaultValue = "3",
            description = "How often a trial whose worker died is enqueued again (default: ${DEFAULT-VALUE}).")
    int maxRetries;

    /**
     * The study these options name, in {@code out} when no storage is given.
     *
     * @throws IllegalArgumentException for an unknown URL scheme, a blank name, a heartbeat interval under one second,
     *                                  a grace period not longer than it, or negative retries, naming the option
     */
    Study study(Path out) {
        if (heartbeatSeconds < 1) {
            throw new IllegalArgumentException("--heartbeat-interval must be >= 1 second, got " + heartbeatSeconds);
        }
        long grace = graceSeconds == null ? 2 * heartbeatSeconds : graceSeconds;
        if (grace <= heartbeatSeconds) {
            throw new IllegalArgumentException("--grace-period must be longer than --heartbeat-interval "
                    + heartbeatSeconds + ", got " + grace);
        }
        if (maxRetries < 0) {
            throw new IllegalArgumentException("--max-retries must be >= 0, got " + maxRetries);
        }
        String url = storage != null ? storage : Study.in(out).storage();
        try {
            return new Study(url, name, Duration.ofSeconds(heartbeatSeconds), Duration.ofSeconds(grace), maxRetries);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException((e.getMessage().startsWith("study name") ? "--study: " : "--storage: ")
                    + e.getMessage(), e);
        }
    }
}
