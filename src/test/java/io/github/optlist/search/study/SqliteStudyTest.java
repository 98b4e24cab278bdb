package io.github.optlist.search.study;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The study on SQLite files. */
class SqliteStudyTest extends StudyContract {

    @TempDir
    Path dir;

    private int files;

    @Override
    StorageUrl newDatabase() {
        return StorageUrl.parse("sqlite:///" + dir.resolve("study" + files++ + ".db"));
    }

    @Override
    Connection raw(StorageUrl url) throws SQLException {
        return DriverManager.getConnection(url.jdbcUrl());
    }

    @Test
    void aReadOnlyFileIsRefusedNamingItAndIsLeftAsItWas() throws Exception {
        StorageUrl url = newDatabase();
        StudyDatabase.open(url).close();
        byte[] before = Files.readAllBytes(url.file());
        boolean root = "root".equals(System.getProperty("user.name"));
        // Root writes any file whatever its mode; only the immutable attribute stops it.
        Process lock = new ProcessBuilder(root ? List.of("chattr", "+i", url.file().toString())
                : List.of("chmod", "a-w", url.file().toString())).redirectErrorStream(true).start();
        assumeTrue(lock.waitFor() == 0, "cannot make the file read-only here");
        try {
            StudyStorageException refused = assertThrows(StudyStorageException.class, () -> StudyDatabase.open(url));
            assertTrue(refused.getMessage().contains(url.file() + ": the file is read-only"), refused.getMessage());
        } finally {
            new ProcessBuilder(root ? List.of("chattr", "-i", url.file().toString())
                    : List.of("chmod", "u+w", url.file().toString())).start().waitFor();
        }
        assertArrayEquals(before, Files.readAllBytes(url.file()));
    }

    /**
     * Workers started together on a new file: one creates the schema while the others connect, and SQLite refused a
     * connection's pragmas with SQLITE_BUSY (within these 150 rounds in each of three runs here) before connecting
     * retried as transactions do.
     */
    @Test
    void workersOpeningANewFileAtOnceAllOpenIt() throws Exception {
        int workers = 3;
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            for (int round = 0; round < 150; round++) {
                StorageUrl url = newDatabase();
                CyclicBarrier start = new CyclicBarrier(workers);
                List<Future<Void>> opened = new ArrayList<>();
                for (int w = 0; w < workers; w++) {
                    opened.add(pool.submit(() -> {
                        start.await();
                        StudyDatabase.open(url).close();
                        return null;
                    }));
                }
                for (Future<Void> f : opened) {
                    f.get(); // an ExecutionException names the refusal
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFileInAMissingFolderIsRefusedNamingTheFolder() {
        StorageUrl url = StorageUrl.parse("sqlite:///" + dir.resolve("missing/study.db"));
        StudyStorageException refused = assertThrows(StudyStorageException.class, () -> StudyDatabase.open(url));
        assertTrue(refused.getMessage().contains(dir.resolve("missing") + " does not exist"), refused.getMessage());
        assertTrue(Files.notExists(dir.resolve("missing")));
    }
}
