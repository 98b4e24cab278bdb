package io.github.optlist.search.study;

import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a study does on any database, run on SQLite ({@link SqliteStudyTest}) and PostgreSQL
 * ({@link PostgresStudyTest}). The expected rows are Optuna's, written out here from its {@code models.py},
 * {@code enqueue_trial}, {@code RetryFailedTrialCallback} and {@code distribution_to_json}.
 */
abstract class StudyContract {

    static final Map<String, Object> SETTINGS = Map.of("task", "mlp", "steps", 1000);
    static final String IDX_DISTRIBUTION =
            "{\"name\": \"IntDistribution\", \"attributes\": {\"log\": false, \"step\": 1, \"low\": 0, \"high\": 999}}";

    /** A new, empty database. */
    abstract StorageUrl newDatabase() throws Exception;

    /** The rows {@code sql} selects, each column as text (null for NULL). */
    static List<List<String>> rows(StudyDatabase database, String sql) {
        return database.transaction("test query", c -> rows(c, sql));
    }

    static List<List<String>> rows(Connection c, String sql) throws SQLException {
        List<List<String>> rows = new ArrayList<>();
        try (Statement statement = c.createStatement(); ResultSet r = statement.executeQuery(sql)) {
            while (r.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= r.getMetaData().getColumnCount(); i++) {
                    row.add(r.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    /** A row that may hold nulls. */
    static List<String> row(String... columns) {
        return Arrays.asList(columns);
    }

    static void execute(StudyDatabase database, String sql) {
        database.transaction("test update", c -> {
            try (Statement statement = c.createStatement()) {
                statement.executeUpdate(sql);
            }
            return null;
        });
    }

    /** Makes every heartbeat of the database 20+ years old. */
    static void ageHeartbeats(StudyDatabase database) {
        execute(database, "UPDATE trial_heartbeats SET heartbeat = '2000-01-01 00:00:00.000000'");
    }

    private OptunaStudy study(StudyDatabase database) {
        return OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE, SETTINGS);
    }

    @Test
    void anEmptyDatabaseGetsOptunasSchemaAtRevisionV320a() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            assertEquals(List.of(List.of("v3.2.0.a")), rows(database, "SELECT version_num FROM alembic_version"));
            assertEquals(List.of(List.of("1", "12")),
                    rows(database, "SELECT version_info_id, schema_version FROM version_info"));
            for (String table : List.of("studies", "study_directions", "study_user_attributes",
                    "study_system_attributes", "trials", "trial_user_attributes", "trial_system_attributes",
                    "trial_params", "trial_values", "trial_intermediate_values", "trial_heartbeats")) {
                assertEquals(List.of(List.of("0")), rows(database, "SELECT COUNT(*) FROM " + table), table);
            }
        }
    }

    @Test
    void enqueuedTrialsAreNumberedByTheStudysCountAndIndicesItHasAreSkipped() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            assertEquals(List.of(3, 1, 2), study.enqueue(List.of(3, 1, 3, 2)));
            assertEquals(List.of(5), study.enqueue(List.of(1, 5)));
            assertEquals(List.of(row("0", "WAITING", null, "{\"idx\": 3}"), row("1", "WAITING", null,
                    "{\"idx\": 1}"), row("2", "WAITING", null, "{\"idx\": 2}"), row("3", "WAITING", null,
                    "{\"idx\": 5}")), rows(database, "SELECT t.number, t.state, t.datetime_start, a.value_json"
                    + " FROM trials t JOIN trial_system_attributes a ON a.trial_id = t.trial_id"
                    + " WHERE a.\"key\" = 'fixed_params' ORDER BY t.number"));
        }
    }

    @Test
    void popTakesTheFirstWaitingTrialAndWritesWhatSuggestIntWrites() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(7, 8));
            RunningTrial first = study.pop().orElseThrow();
            assertEquals(0, first.number());
            assertEquals(7, first.index());
            assertEquals(List.of(List.of("RUNNING", "idx", "1", IDX_DISTRIBUTION, "1")), rows(database,
                    "SELECT t.state, p.param_name, CASE WHEN p.param_value = 7 THEN 1 ELSE 0 END, p.distribution_json,"
                    + " (SELECT COUNT(*) FROM trial_heartbeats h WHERE h.trial_id = t.trial_id) FROM trials t"
                    + " JOIN trial_params p ON p.trial_id = t.trial_id WHERE t.number = 0"));
            assertNotNull(study.trials().get(0).start());
            assertEquals(8, study.pop().orElseThrow().index());
            assertEquals(Optional.empty(), study.pop());
        }
    }

    @Test
    void eightWorkersTakingTrialsAtOnceNeverTakeTheSameOne() throws Exception {
        StorageUrl url = newDatabase();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            List<Integer> indices = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                indices.add(i);
            }
            study(database).enqueue(indices);
        }
        List<Integer> popped = Collections.synchronizedList(new ArrayList<>());
        ExecutorService workers = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                done.add(workers.submit(() -> {
                    try (StudyDatabase own = StudyDatabase.open(url)) {
                        OptunaStudy study = study(own);
                        for (Optional<RunningTrial> t = study.pop(); t.isPresent(); t = study.pop()) {
                            popped.add(t.get().index());
                            study.complete(t.get(), t.get().index(), Map.of());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> worker : done) {
                worker.get(120, TimeUnit.SECONDS);
            }
        } finally {
            workers.shutdownNow();
        }
        List<Integer> sorted = new ArrayList<>(popped);
        Collections.sort(sorted);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            expected.add(i);
        }
        assertEquals(expected, sorted);
    }

    @Test
    void theLastTrialRacedForByTwoWorkersGoesToOne() throws Exception {
        StorageUrl url = newDatabase();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            study(database).enqueue(List.of(42));
        }
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService workers = Executors.newFixedThreadPool(2);
        try {
            List<Future<Optional<RunningTrial>>> results = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                results.add(workers.submit(() -> {
                    try (StudyDatabase own = StudyDatabase.open(url)) {
                        OptunaStudy study = study(own);
                        start.await(30, TimeUnit.SECONDS);
                        return study.pop();
                    }
                }));
            }
            int taken = 0;
            for (Future<Optional<RunningTrial>> result : results) {
                taken += result.get(60, TimeUnit.SECONDS).isPresent() ? 1 : 0;
            }
            assertEquals(1, taken);
        } finally {
            workers.shutdownNow();
        }
    }

    @Test
    void aCompleteTrialHasItsValueAndItsLossCurveInOptunasEncoding() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(7));
            RunningTrial trial = study.pop().orElseThrow();
            study.report(trial, 0, 2.5);
            study.report(trial, 1, Double.NaN);
            study.report(trial, 2, Double.POSITIVE_INFINITY);
            study.report(trial, 3, Double.NEGATIVE_INFINITY);
            study.complete(trial, 0.25, Map.of("label", "taskset-7"));
            assertEquals(List.of(List.of("0", "2.5", "FINITE"), row("1", null, "NAN"),
                    row("2", null, "INF_POS"), row("3", null, "INF_NEG")), rows(database,
                    "SELECT step, CAST(intermediate_value AS VARCHAR(20)), intermediate_value_type"
                    + " FROM trial_intermediate_values ORDER BY step"));
            assertEquals(List.of(List.of("COMPLETE", "0", "0.25", "FINITE", "\"taskset-7\"")), rows(database,
                    "SELECT t.state, v.objective, CAST(v.value AS VARCHAR(20)), v.value_type, a.value_json"
                    + " FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id"
                    + " JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.\"key\" = 'label'"));
            StoredTrial stored = study.trials().get(0);
            assertEquals(0.25, stored.value());
            assertEquals(7, stored.index());
            assertTrue(Double.isNaN(stored.intermediateValues().get(1)));
            assertEquals(Double.NEGATIVE_INFINITY, stored.intermediateValues().get(3));
            assertNotNull(stored.complete());
            assertFalse(stored.complete().isBefore(stored.start()));
        }
    }

    @Test
    void aPrunedTrialTakesItsLastIntermediateValueAsOptunasTellDoes() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(1, 2));
            RunningTrial trial = study.pop().orElseThrow();
            study.report(trial, 5, 1.5);
            study.report(trial, 0, 3.0);
            study.prune(trial, Map.of());
            RunningTrial nanLast = study.pop().orElseThrow();
            study.report(nanLast, 0, 3.0);
            study.report(nanLast, 1, Double.NaN);
            study.prune(nanLast, Map.of());
            List<StoredTrial> trials = study.trials();
            assertEquals(TrialState.PRUNED, trials.get(0).state());
            assertEquals(1.5, trials.get(0).value());
            assertEquals(TrialState.PRUNED, trials.get(1).state());
            assertEquals(null, trials.get(1).value());
        }
    }

    @Test
    void aStaleTrialFailsAndIsEnqueuedAgainWithOptunasRetryAttributes() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(4));
            RunningTrial first = study.pop().orElseThrow();
            assertEquals(List.of(), study.failStale(Duration.ofSeconds(60), 3), "a fresh heartbeat is not stale");
            ageHeartbeats(database);
            assertEquals(List.of(new StaleTrial(0, 4, 1)), study.failStale(Duration.ofSeconds(60), 3));
            RunningTrial second = study.pop().orElseThrow();
            assertEquals(new RunningTrial(second.trialId(), 1, 4, null), second);
            ageHeartbeats(database);
            assertEquals(List.of(new StaleTrial(1, 4, 2)), study.failStale(Duration.ofSeconds(60), 3));
            assertEquals(List.of(List.of("2", "failed_trial", "0"), List.of("2", "fixed_params", "{\"idx\": 4}"),
                    List.of("2", "retry_history", "[0, 1]")), rows(database, "SELECT t.number, a.\"key\","
                    + " a.value_json FROM trials t JOIN trial_system_attributes a ON a.trial_id = t.trial_id"
                    + " WHERE t.number = 2 ORDER BY a.\"key\""));
            List<StoredTrial> trials = study.trials();
            assertEquals(TrialState.FAIL, trials.get(0).state());
            assertNotNull(trials.get(0).complete());
            assertTrue(trials.get(0).userAttributes().containsKey(OptunaStudy.FAIL_REASON));
            assertEquals(TrialState.WAITING, trials.get(2).state());
            assertEquals(Map.of("idx", 4.0), trials.get(2).params(), "the retry keeps the parameters");
            assertFalse(trials.get(2).userAttributes().containsKey(OptunaStudy.FAIL_REASON));
            assertFalse(first.equals(second));
        }
    }

    @Test
    void aTrialIsRetriedAtMostMaxRetriesTimes() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(9));
            List<Integer> retries = new ArrayList<>();
            for (Optional<RunningTrial> t = study.pop(); t.isPresent(); t = study.pop()) {
                ageHeartbeats(database);
                retries.add(study.failStale(Duration.ofSeconds(60), 2).get(0).retryNumber());
            }
            assertEquals(List.of(1, 2, -1), retries);
            assertEquals(List.of(List.of("3", "3")), rows(database,
                    "SELECT COUNT(*), SUM(CASE WHEN state = 'FAIL' THEN 1 ELSE 0 END) FROM trials"));
            assertEquals(List.of(), study.enqueue(List.of(9)), "an index that failed for good is not enqueued again");
        }
    }

    @Test
    void aWorkerWhoseTrialWasFailedAsStaleLearnsItAndWritesNothing() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(4));
            RunningTrial trial = study.pop().orElseThrow();
            assertTrue(study.heartbeat(trial));
            ageHeartbeats(database);
            study.failStale(Duration.ofSeconds(60), 0);
            assertFalse(study.heartbeat(trial));
            StudyStorageException refused = assertThrows(StudyStorageException.class,
                    () -> study.complete(trial, 1.0, Map.of("label", "x")));
            assertTrue(refused.getMessage().contains("it is FAIL"), refused.getMessage());
            assertThrows(StudyStorageException.class, () -> study.report(trial, 3, 1.0));
            assertEquals(List.of(List.of("0", "0")), rows(database, "SELECT (SELECT COUNT(*) FROM trial_values),"
                    + " (SELECT COUNT(*) FROM trial_intermediate_values)"));
        }
    }

    @Test
    void aStudyOfOtherSettingsIsRefusedNamingTheKeyAndBothValuesAndNothingIsWritten() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            study(database);
            StudyStorageException refused = assertThrows(StudyStorageException.class,
                    () -> OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE,
                            Map.of("task", "mlp", "steps", 2000, "seed", 1)));
            assertTrue(refused.getMessage().contains("steps: 1000 there, 2000 here"), refused.getMessage());
            assertEquals(List.of(List.of("2")), rows(database, "SELECT COUNT(*) FROM study_user_attributes"));
            OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE,
                    Map.of("task", "mlp", "steps", 1000, "seed", 1));
            assertEquals(List.of(List.of("1")), rows(database,
                    "SELECT value_json FROM study_user_attributes WHERE \"key\" = 'seed'"));
        }
    }

    @Test
    void aStudyOfTheSameSettingsIsJoinedWhateverJavaTypesHoldThem() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE,
                    Map.of("seed", 5, "rate", 0.5, "list", List.of(1L, 2L), "config", Map.of("beta", 0.9)));
            OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE,
                    Map.of("seed", 5L, "rate", 0.5f, "list", List.of(1, 2), "config", Map.of("beta", 0.9)));
            assertEquals(List.of(List.of("config", "{\"beta\": 0.9}"), List.of("list", "[1, 2]")), rows(database,
                    "SELECT \"key\", value_json FROM study_user_attributes WHERE \"key\" IN ('config', 'list')"
                    + " ORDER BY \"key\""));
        }
    }

    @Test
    void aStudyOfTheOtherDirectionIsRefused() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            study(database);
            StudyStorageException refused = assertThrows(StudyStorageException.class,
                    () -> OptunaStudy.createOrLoad(database, "s", StudyDirection.MAXIMIZE, SETTINGS));
            assertTrue(refused.getMessage().contains("MINIMIZE"), refused.getMessage());
        }
    }

    @Test
    void theLastStepOfEachFinishedTrialIsReadWithItsStateAndUnfinishedOnesAreLeftOut() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(0, 1, 2, 3, 4));
            RunningTrial complete = study.pop().orElseThrow();
            study.report(complete, new java.util.TreeMap<>(Map.of(0, 3.0, 99, 1.0, 50, 2.0)));
            study.complete(complete, 1.0, Map.of());
            RunningTrial pruned = study.pop().orElseThrow();
            study.report(pruned, new java.util.TreeMap<>(Map.of(0, 3.0, 12, 2.5)));
            study.prune(pruned, Map.of());
            RunningTrial failed = study.pop().orElseThrow();
            study.fail(failed, Map.of());
            RunningTrial running = study.pop().orElseThrow();
            study.report(running, 7, 1.0);
            List<OptunaStudy.LastStep> finished = new ArrayList<>(study.lastStepsOfFinished());
            finished.sort(java.util.Comparator.comparing(OptunaStudy.LastStep::state));
            assertEquals(List.of(new OptunaStudy.LastStep(TrialState.COMPLETE, 99),
                    new OptunaStudy.LastStep(TrialState.PRUNED, 12), new OptunaStudy.LastStep(TrialState.FAIL, -1)),
                    finished);
        }
    }

    @Test
    void aUserAttributeOfTheCompletedTrialsIsReadForTheTrialsNotYetKnown() throws Exception {
        try (StudyDatabase database = StudyDatabase.open(newDatabase())) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(0, 1, 2, 3));
            RunningTrial first = study.pop().orElseThrow();
            study.complete(first, 1.0, Map.of("v", List.of(1, 2)));
            RunningTrial second = study.pop().orElseThrow();
            study.complete(second, 2.0, Map.of("v", List.of(3)));
            RunningTrial withoutIt = study.pop().orElseThrow();
            study.complete(withoutIt, 3.0, Map.of("other", 1));
            RunningTrial prunedWithIt = study.pop().orElseThrow();
            study.prune(prunedWithIt, Map.of("v", List.of(4)));
            Map<Integer, com.fasterxml.jackson.databind.JsonNode> all = study.completedUserAttribute("v", Set.of());
            assertEquals(Set.of(first.trialId(), second.trialId()), all.keySet());
            assertEquals("[1,2]", all.get(first.trialId()).toString());
            assertEquals(Set.of(second.trialId()),
                    study.completedUserAttribute("v", Set.of(first.trialId())).keySet());
        }
    }

    @Test
    void aDatabaseAtAnotherSchemaRevisionIsRefusedAndLeftAsItWas() throws Exception {
        StorageUrl url = newDatabase();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            execute(database, "UPDATE alembic_version SET version_num = 'v3.0.0.c'");
        }
        StudyStorageException refused = assertThrows(StudyStorageException.class, () -> StudyDatabase.open(url));
        assertTrue(refused.getMessage().contains("schema revision v3.0.0.c, expected v3.2.0.a"),
                refused.getMessage());
        assertTrue(refused.getMessage().contains("optuna storage upgrade"), refused.getMessage());
        try (Connection c = raw(url)) {
            assertEquals(List.of(List.of("v3.0.0.c")), rows(c, "SELECT version_num FROM alembic_version"));
        }
    }

    @Test
    void aDatabaseAtOptuna31sRevisionIsReadAndWrittenWithItsRevisionLeftAlone() throws Exception {
        StorageUrl url = newDatabase();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            execute(database, "UPDATE alembic_version SET version_num = 'v3.0.0.d'");
        }
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy study = study(database);
            study.enqueue(List.of(4));
            RunningTrial trial = study.pop().orElseThrow();
            study.complete(trial, 0.5, Map.of());
            assertEquals(TrialState.COMPLETE, study.trials().get(0).state());
        }
        try (Connection c = raw(url)) {
            assertEquals(List.of(List.of("v3.0.0.d")), rows(c, "SELECT version_num FROM alembic_version"));
        }
    }

    @Test
    void aDatabaseWithSomeOfOptunasTableNamesIsNotOptunasAndIsLeftAsItWas() throws Exception {
        StorageUrl url = newDatabase();
        try (Connection c = raw(url); Statement statement = c.createStatement()) {
            statement.execute("CREATE TABLE studies (name VARCHAR(10))");
        }
        StudyStorageException refused = assertThrows(StudyStorageException.class, () -> StudyDatabase.open(url));
        assertTrue(refused.getMessage().contains("is not an Optuna database"), refused.getMessage());
        try (Connection c = raw(url)) {
            assertThrows(SQLException.class, () -> rows(c, "SELECT COUNT(*) FROM trials"));
        }
    }

    /** A plain JDBC connection (auto-commit) to {@code url}. */
    abstract Connection raw(StorageUrl url) throws SQLException;
}
