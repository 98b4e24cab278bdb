package io.github.optlist.search.study;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Storage URLs read as SQLAlchemy reads them, and the password found as libpq finds it. */
class StorageUrlTest {

    @TempDir
    Path dir;

    @Test
    void threeSlashesMakeARelativeSqlitePathAndFourAnAbsoluteOne() {
        assertEquals(Path.of("runs/study.db").toAbsolutePath(), StorageUrl.parse("sqlite:///runs/study.db").file());
        assertEquals(Path.of("/tmp/study.db"), StorageUrl.parse("sqlite:////tmp/study.db").file());
        assertEquals("sqlite:////tmp/study.db", StorageUrl.parse("sqlite:////tmp/study.db").toString());
    }

    @Test
    void aPostgresqlUrlGivesUserPasswordHostPortAndDatabase() {
        StorageUrl url = StorageUrl.parse("postgresql+psycopg2://opt%40user:p%3Ass+w@db.example.org:6543/studies");
        assertEquals("opt@user", url.user());
        assertEquals("p:ss+w", url.password());
        assertEquals("db.example.org", url.host());
        assertEquals(6543, url.port());
        assertEquals("studies", url.database());
        assertEquals(5432, StorageUrl.parse("postgresql://u@h/d").port());
        assertEquals("require", StorageUrl.parse("postgresql://u@h/d?sslmode=require").sslmode());
    }

    @Test
    void thePasswordIsNeverShown() {
        StorageUrl url = StorageUrl.parse("postgresql://u:hunter2@h:5432/d");
        assertEquals("postgresql://u:***@h:5432/d", url.toString());
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> StorageUrl.parse("postgresql://u:hunter2@h:notaport/d"));
        assertFalse(refused.getMessage().contains("hunter2"), refused.getMessage());
    }

    @Test
    void anUnknownSchemeIsRefusedNamingTheAcceptedOnes() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> StorageUrl.parse("mysql://u:pw@h/d"));
        assertTrue(refused.getMessage().contains("'mysql'"), refused.getMessage());
        assertTrue(refused.getMessage().contains("sqlite:///PATH") && refused.getMessage().contains("postgresql://"),
                refused.getMessage());
        assertFalse(refused.getMessage().contains("pw"), refused.getMessage());
    }

    @Test
    void urlsWithoutADatabaseAreRefused() {
        for (String bad : List.of("sqlite://", "sqlite:///", "sqlite:///:memory:", "postgresql://h/d",
                "postgresql://u@h/", "postgresql://u@h:0/d", "postgresql://u@h/d?foo=1", "study.db", "")) {
            assertThrows(IllegalArgumentException.class, () -> StorageUrl.parse(bad), bad);
        }
    }

    @Test
    void thePasswordComesFromTheUrlThenPgpasswordThenThePasswordFile() throws Exception {
        StorageUrl url = StorageUrl.parse("postgresql://alice@db:5433/studies");
        Files.writeString(dir.resolve(".pgpass"), "# comment\nother:*:*:*:no\ndb:5433:studies:bob:no\n"
                + "db:*:studies:alice:from\\:file\n*:*:*:*:fallback\n");
        assertEquals("from:file", PgPass.password(url, Map.of(), dir).value());
        assertEquals("env", PgPass.password(url, Map.of("PGPASSWORD", "env"), dir).value());
        assertEquals("own", PgPass.password(StorageUrl.parse("postgresql://alice:own@db:5433/studies"),
                Map.of("PGPASSWORD", "env"), dir).value());
        assertEquals("fallback", PgPass.password(StorageUrl.parse("postgresql://carol@x/y"), Map.of(), dir).value());
        assertNull(PgPass.password(url, Map.of(), dir.resolve("nowhere")).value());
    }
}
