package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.optlist.ChildProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Optuna itself (Debian's python3-optuna, through {@code /usr/bin/python3}) reading and writing the studies of this
 * package, on SQLite. Debian's Optuna 3.1 makes its databases at revision v3.0.0.d, which this package reads and
 * writes as they are; it opens one made here (at v3.2.0.a) with {@code skip_compatibility_check=True}. Skipped,
 * saying why, without Optuna.
 */
class OptunaInteropTest {

    private static final String PYTHON = "/usr/bin/python3";

    @TempDir
    Path dir;

    @BeforeAll
    static void needsOptuna() throws Exception {
        assumeOptuna();
    }

    /** Skips the test, saying why, when /usr/bin/python3 has no Optuna. */
    static void assumeOptuna() throws Exception {
        ChildProcess probe = ChildProcess.run(List.of("sh", "-c", PYTHON + " -c 'import optuna' 2>&1"));
        assumeTrue(probe.exitCode() == 0, PYTHON + " cannot import optuna (install python3-optuna): "
                + probe.output().strip());
    }

    static ChildProcess python(String script, String... args) throws Exception {
        Path file;
        try {
            file = Path.of(OptunaInteropTest.class.getResource("/study/" + script).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        List<String> command = new java.util.ArrayList<>(List.of(PYTHON, file.toString()));
        command.addAll(List.of(args));
        ChildProcess run = ChildProcess.run(command);
        assertEquals(0, run.exitCode(), script + " failed: " + run.output());
        return run;
    }

    private StorageUrl url() {
        return StorageUrl.parse("sqlite:///" + dir.resolve("study.db"));
    }

    /** The alembic revision recorded in the SQLite database of {@code url}. */
    private static String revisionOf(StorageUrl url) throws java.sql.SQLException {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + url.file());
             java.sql.Statement s = c.createStatement();
             java.sql.ResultSet r = s.executeQuery("SELECT version_num FROM alembic_version")) {
            assertTrue(r.next(), "no alembic revision in " + url);
            return r.getString(1);
        }
    }

    /** The last line {@code read_study.py} printed, as JSON. */
    static JsonNode readStudy(String url, String name) throws Exception {
        String printed = python("read_study.py", url, name).output().strip();
        return new ObjectMapper().readTree(printed.substring(printed.lastIndexOf('\n') + 1));
    }

    @Test
    void optunaLoadsAStudyMadeHereWithItsTrialsParamsValuesAndCurves() throws Exception {
        StorageUrl url = url();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, "java-made", StudyDirection.MINIMIZE,
                    Map.of("task", "mlp", "steps", 1000));
            study.enqueue(List.of(3, 5, 8));
            RunningTrial done = study.pop().orElseThrow();
            study.report(done, 0, 2.0);
            study.report(done, 10, Double.NaN);
            study.report(done, 20, 0.5);
            study.complete(done, 0.25, Map.of("label", "taskset-3"));
            RunningTrial failed = study.pop().orElseThrow();
            study.fail(failed, Map.of("reason", "diverged"));
        }
        String printed = python("read_study.py", url.toString(), "java-made").output().strip();
        JsonNode read = new ObjectMapper().readTree(printed.substring(printed.lastIndexOf('\n') + 1));
        assertEquals("MINIMIZE", read.get("direction").asText());
        assertEquals(1000, read.get("user_attrs").get("steps").asInt());
        JsonNode first = read.get("trials").get(0);
        assertEquals("COMPLETE", first.get("state").asText());
        assertEquals(3, first.get("params").get("idx").asInt());
        assertEquals(StudyContract.IDX_DISTRIBUTION, first.get("distributions").get("idx").asText());
        assertEquals(0.25, first.get("value").asDouble());
        assertEquals(2.0, first.get("intermediate_values").get("0").asDouble());
        assertEquals("nan", first.get("intermediate_values").get("10").asText());
        assertEquals("taskset-3", first.get("user_attrs").get("label").asText());
        assertEquals(3, first.get("system_attrs").get("fixed_params").get("idx").asInt());
        JsonNode second = read.get("trials").get(1);
        assertEquals("FAIL", second.get("state").asText());
        assertEquals("diverged", second.get("user_attrs").get("reason").asText());
        JsonNode third = read.get("trials").get(2);
        assertEquals("WAITING", third.get("state").asText());
        assertEquals(false, third.get("started").asBoolean());
    }

    @Test
    void aStudyOptunaMadeWithAnEnqueuedTrialIsJoinedAndItsTrialRunHere() throws Exception {
        StorageUrl url = url();
        python("create_and_enqueue.py", url.toString(), "python-made");
        String revision = revisionOf(url);
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, "python-made", StudyDirection.MINIMIZE,
                    Map.of("task", "mlp"));
            assertEquals(List.of(2), study.enqueue(List.of(7, 2)), "index 7 is in the study already");
            RunningTrial trial = study.pop().orElseThrow();
            assertEquals(new RunningTrial(trial.trialId(), 0, 7, null), trial);
            study.complete(trial, 1.5, Map.of());
            assertEquals("mlp", study.userAttributes().get("task").asText());
        }
        String printed = python("read_study.py", url.toString(), "python-made").output().strip();
        JsonNode read = new ObjectMapper().readTree(printed.substring(printed.lastIndexOf('\n') + 1));
        assertEquals(revision, revisionOf(url), "the revision Optuna made is left alone");
        assertEquals(7, read.get("trials").get(0).get("params").get("idx").asInt());
        assertEquals(1.5, read.get("trials").get(0).get("value").asDouble());
    }

    @Test
    void aTrialEnqueuedHereIsRunByAnOptunaObjectiveWithItsIndex() throws Exception {
        StorageUrl url = url();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy.createOrLoad(database, "shared", StudyDirection.MINIMIZE, Map.of()).enqueue(List.of(5, 6));
        }
        ChildProcess run = python("run_one_trial.py", url.toString(), "shared");
        assertTrue(run.output().contains("ran 5"), run.output());
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, "shared", StudyDirection.MINIMIZE, Map.of());
            StoredTrial ran = study.trials().get(0);
            assertEquals(TrialState.COMPLETE, ran.state());
            assertEquals(5, ran.index());
            assertEquals(2.5, ran.value());
            assertEquals(Map.of(0, 10.0, 1, 5.0), ran.intermediateValues());
            assertEquals(6, study.pop().orElseThrow().index(), "the other trial is still waiting");
        }
    }
}
