package io.github.optlist.search.study;

/** What differs between the two databases in the SQL this package sends. */
enum Dialect {
    /**
     * SQLite: every transaction begins immediately (the driver's {@code transaction_mode}), so a writer holds the
     * file's lock from its first statement and two workers never both read a WAITING trial as theirs. Times are
     * text in SQLAlchemy's format, {@code 2026-01-31 12:00:00.123000}, in UTC.
     */
    SQLITE("strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'", ""),
    /**
     * PostgreSQL: rows are locked ({@code FOR UPDATE}); a popping worker skips the rows another one holds. Times are
     * {@code timestamp without time zone} in UTC, taken from the server's clock.
     */
    POSTGRESQL("(now() AT TIME ZONE 'UTC')", " FOR UPDATE OF t SKIP LOCKED");

    private final String now;
    private final String skipLocked;

    Dialect(String now, String skipLocked) {
        this.now = now;
        this.skipLocked = skipLocked;
    }

    /** An SQL expression for the current UTC time, stored as Optuna's datetime columns store it. */
    String now() {
        return now;
    }

    /** What a SELECT of trials {@code t} to take over ends with: rows another worker holds are skipped. */
    String skipLocked() {
        return skipLocked;
    }

    /** What a SELECT ends with to lock its rows until the transaction ends (SQLite's lock is the whole file). */
    String forUpdate() {
        return this == POSTGRESQL ? " FOR UPDATE" : "";
    }

    /** A condition that holds when the heartbeat column {@code column} is older than {@code ?} seconds. */
    String olderThan(String column) {
        return this == POSTGRESQL ? column + " < " + now + " - make_interval(secs => ?)"
                : "julianday(" + column + ") < julianday('now') - ? / 86400.0";
    }
}
