package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The study on a real PostgreSQL server, one for the class. */
class PostgresStudyTest extends StudyContract {

    private static TestPostgres server;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestPostgres.start();
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @Override
    StorageUrl newDatabase() throws SQLException {
        return server.newDatabase();
    }

    @Override
    Connection raw(StorageUrl url) throws SQLException {
        return DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
    }

    @Test
    void aConnectionTheServerDropsIsMadeAgainAndTheTrialIsPoppedOnce() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(server.newDatabase())) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE, SETTINGS);
            study.enqueue(List.of(1, 2));
            // What a worker sees of a server restart: its session ends and its socket closes.
            server.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '"
                    + TestPostgres.USER + "'");
            assertEquals(1, study.pop().orElseThrow().index());
            assertEquals(List.of(List.of("RUNNING", "1"), List.of("WAITING", "0")), rows(database,
                    "SELECT t.state, (SELECT COUNT(*) FROM trial_params p WHERE p.trial_id = t.trial_id)"
                    + " FROM trials t ORDER BY t.number"));
        }
    }

    @Test
    void optunaWithPsycopg2ReadsAStudyMadeHereAndRunsItsWaitingTrial() throws Exception {
        OptunaInteropTest.assumeOptuna();
        StorageUrl url = server.newDatabase();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, "pg", StudyDirection.MAXIMIZE, SETTINGS);
            study.enqueue(List.of(3, 4));
            RunningTrial trial = study.pop().orElseThrow();
            study.report(trial, 0, Double.POSITIVE_INFINITY);
            study.complete(trial, 0.75, Map.of("label", "taskset-3"));
        }
        // The password travels in the URL here: Python gets it as the user would write it.
        String withPassword = "postgresql://" + TestPostgres.USER + ":" + TestPostgres.PASSWORD.replace(":", "%3A")
                + "@127.0.0.1:" + server.port() + "/" + url.database();
        assertTrue(OptunaInteropTest.python("run_one_trial.py", withPassword, "pg").output().contains("ran 4"));
        JsonNode read = OptunaInteropTest.readStudy(withPassword, "pg");
        assertEquals("MAXIMIZE", read.get("direction").asText());
        JsonNode first = read.get("trials").get(0);
        assertEquals("COMPLETE", first.get("state").asText());
        assertEquals(3, first.get("params").get("idx").asInt());
        assertEquals(0.75, first.get("value").asDouble());
        assertEquals("inf", first.get("intermediate_values").get("0").asText());
        assertTrue(first.get("started").asBoolean() && first.get("completed").asBoolean());
        JsonNode second = read.get("trials").get(1);
        assertEquals("COMPLETE", second.get("state").asText());
        assertEquals(2.0, second.get("value").asDouble());
    }

    @Test
    void anUnreachableServerFailsWithinTheTimeoutNamingHostAndPort() throws Exception {
        int closed = TestPostgres.freePort();
        StorageUrl url = StorageUrl.parse("postgresql://optuna:pw@127.0.0.1:" + closed + "/db");
        StudyStorageException refused = assertThrows(StudyStorageException.class,
                () -> StudyDatabase.open(url, Duration.ofSeconds(2)));
        assertTrue(refused.getMessage().contains("127.0.0.1:" + closed), refused.getMessage());
        assertFalse(refused.getMessage().contains(":pw@"), refused.getMessage());
    }

    @Test
    void aWrongPasswordIsRefusedSayingSoWithoutShowingIt() throws Exception {
        StorageUrl good = server.newDatabase();
        StorageUrl url = StorageUrl.parse("postgresql://" + TestPostgres.USER + ":wrong-pw@127.0.0.1:"
                + server.port() + "/" + good.database());
        StudyStorageException refused = assertThrows(StudyStorageException.class, () -> StudyDatabase.open(url));
        assertTrue(refused.getMessage().contains("wrong password for user optuna with the password from the URL"),
                refused.getMessage());
        assertFalse(refused.getMessage().contains("wrong-pw"), refused.getMessage());
    }

    @Test
    void aMissingPasswordIsAskedForNamingWhereItMayCome() throws Exception {
        StorageUrl good = server.newDatabase();
        StorageUrl url = StorageUrl.parse("postgresql://" + TestPostgres.USER + "@127.0.0.1:" + server.port() + "/"
                + good.database());
        StudyStorageException refused = assertThrows(StudyStorageException.class,
                () -> StudyDatabase.open(url, Duration.ofSeconds(5), Map.of(), null));
        assertTrue(refused.getMessage().contains("PGPASSWORD"), refused.getMessage());
    }

    @Test
    void thePasswordComesFromPgpasswordWhenTheUrlHasNone() throws Exception {
        StorageUrl good = server.newDatabase();
        StorageUrl url = StorageUrl.parse("postgresql://" + TestPostgres.USER + "@127.0.0.1:" + server.port() + "/"
                + good.database());
        StudyDatabase.open(url, Duration.ofSeconds(5), Map.of("PGPASSWORD", TestPostgres.PASSWORD), null).close();
    }
}
