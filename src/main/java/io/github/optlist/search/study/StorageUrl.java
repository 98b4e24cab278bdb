package io.github.optlist.search.study;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Where a study lives, written as Optuna (SQLAlchemy) writes it, so that one string works in Java and in Python:
 * {@code sqlite:///relative/path.db}, {@code sqlite:////absolute/path.db} (SQLAlchemy's rule: three slashes, then
 * the path as written, so a fourth slash makes it absolute), or {@code postgresql://USER[:PASSWORD]@HOST[:PORT]/DB}
 * (also {@code postgresql+psycopg2://} and {@code postgresql+psycopg://}; port 5432 by default; the only query
 * parameter taken is {@code sslmode}). Percent-escapes in the user and password are decoded.
 *
 * <p>A password never leaves this object but to the driver: {@link #toString()} shows {@code ***} in its place. When
 * the URL has none, {@link StudyDatabase} takes it from {@code PGPASSWORD} or the password file ({@link PgPass}).
 */
public final class StorageUrl {

    /** The URL forms accepted, for messages. */
    static final String ACCEPTED = "sqlite:///PATH (a file; four slashes for an absolute path) or "
            + "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE";

    private static final int DEFAULT_PORT = 5432;

    private final Dialect dialect;
    private final Path file;
    private final String host;
    private final int port;
    private final String database;
    private final String user;
    private final String password;
    private final String sslmode;

    private StorageUrl(Dialect dialect, Path file, String host, int port, String database, String user,
                       String password, String sslmode) {
        this.dialect = dialect;
        this.file = file;
        this.host = host;
        this.port = port;
        this.database = database;
        this.user = user;
        this.password = password;
        this.sslmode = sslmode;
    }

    /**
     * Parses {@code url}.
     *
     * @throws IllegalArgumentException for null, an unknown scheme (naming the accepted ones), an SQLite URL without
     *                                  a file ({@code sqlite://}, {@code :memory:}: workers share nothing there), a
     *                                  PostgreSQL URL without user, host or database, a port that is no number in
     *                                  1-65535, or a query parameter other than {@code sslmode}
     */
    public static StorageUrl parse(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("the storage URL is empty: use " + ACCEPTED);
        }
        int colon = url.indexOf("://");
        String scheme = colon < 0 ? "" : url.substring(0, colon).toLowerCase(Locale.ROOT);
        String rest = colon < 0 ? "" : url.substring(colon + 3);
        switch (scheme) {
            case "sqlite":
                return sqlite(url, rest);
            case "postgresql", "postgresql+psycopg2", "postgresql+psycopg":
                return postgresql(url, rest);
            default:
                throw new IllegalArgumentException("unknown storage URL scheme '"
                        + (colon < 0 ? mask(url) : scheme) + "': use " + ACCEPTED);
        }
    }

    /** The URL of the SQLite file {@code file} (made absolute), as Optuna writes it: {@code sqlite:////abs/path}. */
    public static StorageUrl sqlite(Path file) {
        Objects.requireNonNull(file, "file");
        return new StorageUrl(Dialect.SQLITE, file.toAbsolutePath().normalize(), null, 0, null, null, null, null);
    }

    private static StorageUrl sqlite(String url, String rest) {
        if (!rest.startsWith("/") || rest.length() == 1 || rest.equals("/:memory:")) {
            throw new IllegalArgumentException("storage URL '" + url + "' names no SQLite file (workers share a"
                    + " study only through a file): use " + ACCEPTED);
        }
        if (rest.indexOf('?') >= 0) {
            throw new IllegalArgumentException("storage URL '" + url + "': an SQLite URL takes no query parameters");
        }
        return sqlite(Path.of(rest.substring(1)));
    }

    private static StorageUrl postgresql(String url, String rest) {
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int at = rest.lastIndexOf('@');
        int slash = rest.indexOf('/', Math.max(at, 0));
        if (at <= 0 || slash < 0 || slash == rest.length() - 1 || slash == at + 1) {
            throw new IllegalArgumentException("storage URL '" + mask(url) + "' needs a user, a host and a database: "
                    + ACCEPTED);
        }
        String userInfo = rest.substring(0, at);
        String hostPort = rest.substring(at + 1, slash);
        String database = decode(rest.substring(slash + 1));
        int passwordColon = userInfo.indexOf(':');
        String user = decode(passwordColon < 0 ? userInfo : userInfo.substring(0, passwordColon));
        String password = passwordColon < 0 ? null : decode(userInfo.substring(passwordColon + 1));
        String host = hostPort;
        int port = DEFAULT_PORT;
        int portColon = hostPort.startsWith("[") ? hostPort.indexOf("]:") + 1 : hostPort.lastIndexOf(':');
        if (portColon > 0) {
            host = hostPort.substring(0, portColon);
            port = port(url, hostPort.substring(portColon + 1));
        }
        if (user.isEmpty() || host.isEmpty()) {
            throw new IllegalArgumentException("storage URL '" + mask(url) + "' needs a user, a host and a database: "
                    + ACCEPTED);
        }
        return new StorageUrl(Dialect.POSTGRESQL, null, host, port, database, user, password,
                sslmode(url, query));
    }

    private static int port(String url, String text) {
        try {
            int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("storage URL '" + mask(url) + "': port '" + text
                + "' is no number in 1-65535");
    }

    private static String sslmode(String url, String query) {
        Map<String, String> parameters = new TreeMap<>();
        for (String pair : query.split("&")) {
            if (!pair.isEmpty()) {
                int eq = pair.indexOf('=');
                parameters.put(eq < 0 ? pair : pair.substring(0, eq), eq < 0 ? "" : decode(pair.substring(eq + 1)));
            }
        }
        String sslmode = parameters.remove("sslmode");
        if (!parameters.isEmpty()) {
            throw new IllegalArgumentException("storage URL '" + mask(url) + "': unknown query parameter(s) "
                    + parameters.keySet() + "; the only one taken is sslmode");
        }
        return sslmode;
    }

    private static String decode(String text) {
        return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** {@code url} with whatever stands between {@code ://USER:} and {@code @} replaced by {@code ***}. */
    static String mask(String url) {
        return url.replaceFirst("(://[^:/@]*:)[^@]*@", "$1***@");
    }

    /** Which database this is. */
    Dialect dialect() {
        return dialect;
    }

    /** Whether this is an SQLite file. */
    public boolean isSqlite() {
        return dialect == Dialect.SQLITE;
    }

    /** The SQLite file (absolute), or null for PostgreSQL. */
    public Path file() {
        return file;
    }

    /** The PostgreSQL server's host, or null for SQLite. */
    public String host() {
        return host;
    }

    /** The PostgreSQL server's port, or 0 for SQLite. */
    public int port() {
        return port;
    }

    /** The PostgreSQL database, or null for SQLite. */
    public String database() {
        return database;
    }

    /** The PostgreSQL user, or null for SQLite. */
    public String user() {
        return user;
    }

    /** The password written in the URL, or null; never shown. */
    String password() {
        return password;
    }

    /** The {@code sslmode} query parameter, or null. */
    String sslmode() {
        return sslmode;
    }

    /** {@code host:port}, for messages. */
    String server() {
        return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    /** The JDBC URL (no credentials: they go to the driver as properties). */
    String jdbcUrl() {
        if (isSqlite()) {
            return "jdbc:sqlite:" + file;
        }
        return "jdbc:postgresql://" + server() + "/" + java.net.URLEncoder.encode(database, StandardCharsets.UTF_8);
    }

    /** The URL as Optuna takes it, with {@code ***} for a password given in it. */
    @Override
    public String toString() {
        if (isSqlite()) {
            return "sqlite:///" + file;
        }
        return "postgresql://" + user + (password == null ? "" : ":***") + "@" + server() + "/" + database
                + (sslmode == null ? "" : "?sslmode=" + sslmode);
    }

    /** Equal when the same database is meant as the same user with the same password. */
    @Override
    public boolean equals(Object other) {
        return other instanceof StorageUrl that && dialect == that.dialect && Objects.equals(file, that.file)
                && Objects.equals(host, that.host) && port == that.port && Objects.equals(database, that.database)
                && Objects.equals(user, that.user) && Objects.equals(password, that.password)
                && Objects.equals(sslmode, that.sslmode);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dialect, file, host, port, database, user);
    }
}
