package io.github.optlist.search.study;

import io.github.optlist.internal.Messages;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An open study database: one JDBC connection, Optuna's schema checked (or created in an empty database) when it
 * opens. Every operation of this package runs in one transaction of it, retried when SQLite is busy past its busy
 * timeout, when PostgreSQL reports a serialization failure or deadlock, and after a lost connection (reconnecting:
 * the server restarted); a failed operation is rolled back, so it writes nothing. Thread-safe: operations of several
 * threads take turns on the connection (a heartbeat thread may share it with the training thread).
 */
public final class StudyDatabase implements AutoCloseable {

    /** How long connecting (and logging in) may take before it fails, unless told otherwise. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private static final int SQLITE_BUSY = 5;
    private static final int SQLITE_LOCKED = 6;
    private static final int SQLITE_READONLY = 8;
    private static final int BUSY_TIMEOUT_MS = 5_000;
    private static final int ATTEMPTS = 6;
    // A statement's reply may be slow (a lock held by another worker), never unbounded: a dead server must not hang.
    private static final int SOCKET_TIMEOUT_S = 120;

    /** One unit of work in a transaction. */
    @FunctionalInterface
    interface Work<T> {
        /** Runs on {@code connection}, in its open transaction. */
        T run(Connection connection) throws SQLException;
    }

    private final StorageUrl url;
    private final Duration connectTimeout;
    private final PgPass.Password password;
    private Connection connection;
    private boolean closed;

    private StudyDatabase(StorageUrl url, Duration connectTimeout, PgPass.Password password) {
        this.url = url;
        this.connectTimeout = connectTimeout;
        this.password = password;
    }

    /** {@link #open(StorageUrl, Duration)} with {@link #DEFAULT_CONNECT_TIMEOUT}. */
    public static StudyDatabase open(StorageUrl url) {
        return open(url, DEFAULT_CONNECT_TIMEOUT);
    }

    /**
     * Connects to {@code url}'s database and creates Optuna's schema there when it has none of Optuna's tables (in
     * one transaction), else checks that it is Optuna's schema at revision {@code v3.2.0.a}. The password of a
     * PostgreSQL URL without one comes from {@code PGPASSWORD} or the password file ({@code ~/.pgpass}).
     *
     * @param connectTimeout how long connecting may take, at least one second
     * @throws IllegalArgumentException for a null URL or a timeout under one second
     * @throws StudyStorageException    naming the file or {@code host:port} (never the password): an SQLite file or
     *                                  folder that is read-only or missing, a server unreachable within the timeout,
     *                                  wrong credentials or a missing password, a missing driver, a database that is
     *                                  not Optuna's or at another schema revision; nothing is written then
     */
    public static StudyDatabase open(StorageUrl url, Duration connectTimeout) {
        return open(url, connectTimeout, System.getenv(), Path.of(System.getProperty("user.home")));
    }

    static StudyDatabase open(StorageUrl url, Duration connectTimeout, Map<String, String> environment, Path home) {
        if (url == null || connectTimeout == null || connectTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("open needs a storage URL and a connect timeout of at least 1 s, got "
                    + url + " and " + connectTimeout);
        }
        if (url.isSqlite()) {
            checkSqliteFile(url.file());
        }
        PgPass.Password password = url.isSqlite() ? null : PgPass.password(url, environment, home);
        StudyDatabase database = new StudyDatabase(url, connectTimeout, password);
        database.connection = database.connect();
        try {
            database.transaction("set up the schema", c -> {
                OptunaSchema.createOrCheck(c, url.dialect(), database.where());
                return null;
            });
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
        return database;
    }

    /** Refuses, before SQLite would, a file a worker cannot write (SQLite also writes a journal beside it). */
    private static void checkSqliteFile(Path file) {
        Path folder = file.getParent();
        if (folder == null || !Files.isDirectory(folder)) {
            throw new StudyStorageException("cannot open study database " + file + ": its folder " + folder
                    + " does not exist");
        }
        if (Files.exists(file) && (!Files.isRegularFile(file) || !Files.isWritable(file))) {
            throw new StudyStorageException("cannot open study database " + file + ": "
                    + (Files.isRegularFile(file) ? "the file is read-only, and every worker writes the study"
                    : "it is not a file"));
        }
        if (!Files.isWritable(folder)) {
            throw new StudyStorageException("cannot open study database " + file + ": its folder " + folder
                    + " is read-only, and SQLite writes its journal there");
        }
    }

    /** The database's URL (its password masked when shown). */
    public StorageUrl url() {
        return url;
    }

    /** Whether this is SQLite or PostgreSQL. */
    Dialect dialect() {
        return url.dialect();
    }

    /** The database for messages: the SQLite file, or PostgreSQL's {@code host:port/database}. */
    String where() {
        return url.isSqlite() ? "study database " + url.file()
                : "PostgreSQL database " + url.database() + " at " + url.server();
    }

    /**
     * Connects, retrying as {@link #transaction} does what another process's lock refused: SQLite applies the
     * connection's pragmas (WAL among them) at once, and a worker opening a new file while another creates the
     * schema in it was refused with SQLITE_BUSY.
     */
    private Connection connect() {
        for (int attempt = 1; ; attempt++) {
            try {
                return rawConnect();
            } catch (SQLException e) {
                if (retry(e) != Retry.LATER || attempt == ATTEMPTS) {
                    throw new StudyStorageException(connectFailure(e, Math.max(1, connectTimeout.toSeconds())), e);
                }
                pause(Retry.LATER, attempt);
            }
        }
    }

    private Connection rawConnect() throws SQLException {
        Properties properties = new Properties();
        long seconds = Math.max(1, connectTimeout.toSeconds());
        if (url.isSqlite()) {
            properties.setProperty("busy_timeout", Integer.toString(BUSY_TIMEOUT_MS));
            // Write-ahead logging: a commit appends to the log instead of rewriting pages through a rollback
            // journal (measured here: a pop 10-15 ms with the rollback journal, under 1 ms in WAL), and readers no
            // longer block the writer. It stays set in the file; Optuna's SQLite opens such a file as it is.
            properties.setProperty("journal_mode", "WAL");
            properties.setProperty("synchronous", "NORMAL");
        } else {
            properties.setProperty("user", url.user());
            if (password.value() != null) {
                properties.setProperty("password", password.value());
            }
            properties.setProperty("connectTimeout", Long.toString(seconds));
            properties.setProperty("loginTimeout", Long.toString(seconds));
            properties.setProperty("socketTimeout", Integer.toString(SOCKET_TIMEOUT_S));
            properties.setProperty("tcpKeepAlive", "true");
            // Strings bound to enum columns (trialstate, ...) are then typed by the server, as psycopg2 does.
            properties.setProperty("stringtype", "unspecified");
            properties.setProperty("ApplicationName", "opt-list");
            if (url.sslmode() != null) {
                properties.setProperty("sslmode", url.sslmode());
            }
        }
        Connection opened = DriverManager.getConnection(url.jdbcUrl(), properties);
        // SQLite's driver begins the next transaction as soon as one commits, which would hold the file's lock
        // between operations: this class begins and ends SQLite's transactions itself, on an auto-commit connection.
        opened.setAutoCommit(url.isSqlite());
        return opened;
    }

    private String connectFailure(SQLException e, long seconds) {
        String cause = Messages.firstLine(e);
        if (cause.startsWith("No suitable driver")) {
            return "cannot open " + where() + ": its JDBC driver is not on the class path ("
                    + (url.isSqlite() ? "org.xerial:sqlite-jdbc" : "org.postgresql:postgresql") + ")";
        }
        if (url.isSqlite()) {
            return "cannot open " + where() + ": " + cause;
        }
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String who = "user " + url.user() + " with the " + password;
        String reason = switch (state) {
            case "28P01" -> "wrong password for " + who;
            case "28000" -> "the server refused " + who + ": " + cause;
            case "3D000" -> "the database does not exist: " + cause;
            default -> cause.contains("no password was provided") || cause.contains("password-based authentication")
                    ? "the server wants a password for user " + url.user()
                    + ": give it in the URL, in PGPASSWORD or in ~/.pgpass"
                    : state.startsWith("08") ? "unreachable within " + seconds + " s: " + cause : cause;
        };
        return "cannot connect to " + where() + " as user " + url.user() + ": " + reason;
    }

    /**
     * Runs {@code work} in one transaction and commits it, retrying it whole as the class says; {@code what} names
     * the operation in messages. A {@link StudyStorageException} thrown by {@code work} (a refusal) rolls back and
     * is rethrown as it is.
     */
    synchronized <T> T transaction(String what, Work<T> work) {
        if (closed) {
            throw new IllegalStateException("the study database " + url + " is closed");
        }
        SQLException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                if (connection == null) {
                    connection = rawConnect();
                }
                begin();
                T result = work.run(connection);
                commit();
                return result;
            } catch (SQLException e) {
                last = e;
                rollbackQuietly();
                Retry retry = retry(e);
                if (retry == Retry.NO || attempt == ATTEMPTS) {
                    break;
                }
                if (retry == Retry.RECONNECT) {
                    closeQuietly();
                }
                pause(retry, attempt);
            } catch (RuntimeException e) {
                rollbackQuietly();
                throw e;
            }
        }
        throw new StudyStorageException(failure(what, last), last);
    }

    private String failure(String what, SQLException e) {
        String cause = Messages.firstLine(e);
        if (url.isSqlite() && e.getErrorCode() == SQLITE_READONLY) {
            return "cannot " + what + " in " + where() + ": the database is read-only (" + cause + ")";
        }
        if (retry(e) == Retry.LATER && url.isSqlite()) {
            return "cannot " + what + " in " + where() + ": another process kept the file locked for more than "
                    + ATTEMPTS * BUSY_TIMEOUT_MS / 1000 + " s (" + cause + ")";
        }
        if (retry(e) == Retry.RECONNECT) {
            return "cannot " + what + ": lost the connection to " + where() + " and could not get it back ("
                    + cause + ")";
        }
        return "cannot " + what + " in " + where() + ": " + cause;
    }

    private enum Retry { NO, LATER, RECONNECT }

    private Retry retry(SQLException e) {
        if (url.isSqlite()) {
            int code = e.getErrorCode() & 0xff;
            return code == SQLITE_BUSY || code == SQLITE_LOCKED ? Retry.LATER : Retry.NO;
        }
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (state.startsWith("08") || state.startsWith("57P")) {
            return Retry.RECONNECT;
        }
        // Serialization failure, deadlock, and two workers creating the same study or schema at once.
        return switch (state) {
            case "40001", "40P01", "23505", "42P07", "42710" -> Retry.LATER;
            default -> Retry.NO;
        };
    }

    private static void pause(Retry retry, int attempt) {
        long bound = retry == Retry.RECONNECT ? 1000L << Math.min(attempt, 4) : 50L * attempt;
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(bound / 2, bound + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StudyStorageException("interrupted while waiting to retry a transaction", e);
        }
    }

    /** Begins a transaction: on SQLite an immediate one, which takes the file's write lock at once. */
    private void begin() throws SQLException {
        if (url.isSqlite()) {
            try (Statement statement = connection.createStatement()) {
                statement.execute("BEGIN IMMEDIATE");
            }
        }
    }

    private void commit() throws SQLException {
        if (url.isSqlite()) {
            try (Statement statement = connection.createStatement()) {
                statement.execute("COMMIT");
            }
        } else {
            connection.commit();
        }
    }

    private void rollbackQuietly() {
        if (connection != null) {
            try {
                if (url.isSqlite()) {
                    try (Statement statement = connection.createStatement()) {
                        statement.execute("ROLLBACK");
                    }
                } else {
                    connection.rollback();
                }
            } catch (SQLException e) {
                // SQLite: no transaction was open (BEGIN was refused). PostgreSQL: the connection is broken, and the
                // next attempt reconnects or reports the first error.
                if (!url.isSqlite()) {
                    closeQuietly();
                }
            }
        }
    }

    private void closeQuietly() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // Nothing left to release.
            }
            connection = null;
        }
    }

    /** Closes the connection; a closed database refuses further operations. Closing twice does nothing. */
    @Override
    public synchronized void close() {
        closed = true;
        closeQuietly();
    }
}
