package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The queue of WAITING trials: enqueuing indices, popping one, and failing and re-enqueuing stale ones. */
final class TrialQueue {

    /** The user attribute a trial failed for lack of heartbeats gets, saying so. */
    static final String FAIL_REASON = "fail_reason";

    private TrialQueue() {
    }

    /** Enqueues the indices the study has no trial of, in order; returns them. See {@link OptunaStudy#enqueue}. */
    static List<Integer> enqueue(Connection c, Dialect dialect, int studyId, List<Integer> indices)
            throws SQLException {
        Studies.lock(c, dialect, studyId);
        Set<Integer> present = new HashSet<>();
        keys(c, studyId, present, new HashSet<>());
        int number = TrialRows.count(c, studyId);
        List<Integer> added = new ArrayList<>();
        for (int index : indices) {
            if (present.add(index)) {
                int trialId = TrialRows.insertWaiting(c, studyId, number++);
                TrialRows.setAttribute(c, "trial_system_attributes", trialId, TrialRows.FIXED_PARAMS,
                        "{\"" + TrialRows.INDEX_PARAM + "\": " + index + "}");
                added.add(index);
            }
        }
        return added;
    }

    /** Enqueues the labels the study has no trial of, in order; returns them. See {@link OptunaStudy#enqueueLabels}. */
    static List<String> enqueueLabels(Connection c, Dialect dialect, int studyId, List<String> labels)
            throws SQLException {
        Studies.lock(c, dialect, studyId);
        Set<String> present = new HashSet<>();
        keys(c, studyId, new HashSet<>(), present);
        int number = TrialRows.count(c, studyId);
        List<String> added = new ArrayList<>();
        for (String label : labels) {
            if (present.add(label)) {
                int trialId = TrialRows.insertWaiting(c, studyId, number++);
                TrialRows.setAttribute(c, "trial_system_attributes", trialId, TrialRows.FIXED_PARAMS,
                        PythonJson.write(Map.of(TrialRows.CANDIDATE_PARAM, label)));
                added.add(label);
            }
        }
        return added;
    }

    /** Adds the list indices and the labels of all the study's trials, whatever their state. */
    private static void keys(Connection c, int studyId, Set<Integer> indices, Set<String> labels)
            throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT a.value_json, p.param_value FROM trials t"
                + " LEFT JOIN trial_system_attributes a ON a.trial_id = t.trial_id AND a.\"key\" = 'fixed_params'"
                + " LEFT JOIN trial_params p ON p.trial_id = t.trial_id AND p.param_name = 'idx'"
                + " WHERE t.study_id = ?")) {
            select.setInt(1, studyId);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    double param = rows.getDouble(2);
                    int index = TrialRows.index(rows.getString(1), rows.wasNull() ? null : param);
                    if (index >= 0) {
                        indices.add(index);
                    }
                    String label = TrialRows.label(rows.getString(1));
                    if (label != null) {
                        labels.add(label);
                    }
                }
            }
        }
    }

    /** Takes the first WAITING trial that has a list index. See {@link OptunaStudy#pop}. */
    static Optional<RunningTrial> pop(Connection c, Dialect dialect, int studyId) throws SQLException {
        int after = 0;
        while (true) {
            int trialId;
            int number;
            int index;
            String label;
            boolean hasParam;
            try (PreparedStatement select = c.prepareStatement("SELECT t.trial_id, t.number, a.value_json,"
                    + " p.param_value FROM trials t"
                    + " LEFT JOIN trial_system_attributes a ON a.trial_id = t.trial_id AND a.\"key\" = 'fixed_params'"
                    + " LEFT JOIN trial_params p ON p.trial_id = t.trial_id AND p.param_name = 'idx'"
                    + " WHERE t.study_id = ? AND t.state = 'WAITING' AND t.trial_id > ?"
                    + " ORDER BY t.trial_id LIMIT 1" + dialect.skipLocked())) {
                select.setInt(1, studyId);
                select.setInt(2, after);
                try (ResultSet rows = select.executeQuery()) {
                    if (!rows.next()) {
                        return Optional.empty();
                    }
                    trialId = rows.getInt(1);
                    number = rows.getInt(2);
                    double param = rows.getDouble(4);
                    hasParam = !rows.wasNull();
                    index = TrialRows.index(rows.getString(3), hasParam ? param : null);
                    label = index < 0 ? TrialRows.label(rows.getString(3)) : null;
                }
            }
            if (index < 0 && label == null) {
                // Another program's trial (no list index): it stays WAITING for a worker that knows it.
                after = trialId;
                continue;
            }
            try (PreparedStatement claim = c.prepareStatement("UPDATE trials SET state = 'RUNNING', datetime_start = "
                    + dialect.now() + " WHERE trial_id = ? AND state = 'WAITING'")) {
                claim.setInt(1, trialId);
                if (claim.executeUpdate() != 1) {
                    after = trialId;
                    continue;
                }
            }
            if (!hasParam && index >= 0) {
                TrialRows.insertParam(c, trialId, TrialRows.INDEX_PARAM, index, TrialRows.INDEX_DISTRIBUTION);
            }
            TrialRecorder.beat(c, dialect, trialId);
            return Optional.of(new RunningTrial(trialId, number, index, label));
        }
    }

    /** Fails the stale RUNNING trials and enqueues their retries. See {@link OptunaStudy#failStale}. */
    static List<StaleTrial> failStale(Connection c, Dialect dialect, int studyId, double graceSeconds, int maxRetries)
            throws SQLException {
        Studies.lock(c, dialect, studyId);
        Map<Integer, Integer> stale = new LinkedHashMap<>();
        try (PreparedStatement select = c.prepareStatement("SELECT t.trial_id, t.number FROM trials t"
                + " JOIN trial_heartbeats h ON h.trial_id = t.trial_id WHERE t.study_id = ? AND t.state = 'RUNNING'"
                + " AND " + dialect.olderThan("h.heartbeat") + " ORDER BY t.trial_id"
                + (dialect == Dialect.POSTGRESQL ? dialect.skipLocked() : ""))) {
            select.setInt(1, studyId);
            select.setDouble(2, graceSeconds);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    stale.put(rows.getInt(1), rows.getInt(2));
                }
            }
        }
        List<StaleTrial> failed = new ArrayList<>();
        int next = stale.isEmpty() ? 0 : TrialRows.count(c, studyId);
        for (Map.Entry<Integer, Integer> trial : stale.entrySet()) {
            StaleTrial result = failAndRetry(c, dialect, studyId, trial.getKey(), trial.getValue(),
                    "no heartbeat for more than the grace period of " + graceSeconds + " s: its worker stopped",
                    maxRetries, next);
            if (result.retryNumber() >= 0) {
                next++;
            }
            failed.add(result);
        }
        return failed;
    }

    /** Fails a RUNNING trial its worker gives up and enqueues its retry. See {@link OptunaStudy#abandon}. */
    static StaleTrial abandon(Connection c, Dialect dialect, int studyId, RunningTrial trial, String reason,
                              int maxRetries) throws SQLException {
        Studies.lock(c, dialect, studyId);
        TrialRecorder.requireRunning(c, dialect, trial, "abandon");
        return failAndRetry(c, dialect, studyId, trial.trialId(), trial.number(), reason, maxRetries,
                TrialRows.count(c, studyId));
    }

    /**
     * Fails one stale trial and, as Optuna's {@code RetryFailedTrialCallback(max_retry)} does, enqueues a WAITING
     * copy of it (its parameters, user attributes and system attributes, with {@code failed_trial}, the first trial
     * of the series, and {@code retry_history}, the numbers of the series so far) unless the series already has
     * more than {@code maxRetries} failed trials.
     */
    private static StaleTrial failAndRetry(Connection c, Dialect dialect, int studyId, int trialId, int number,
                                           String reason, int maxRetries, int retryNumber)
            throws SQLException {
        try (PreparedStatement fail = c.prepareStatement("UPDATE trials SET state = 'FAIL', datetime_complete = "
                + dialect.now() + " WHERE trial_id = ? AND state = 'RUNNING'")) {
            fail.setInt(1, trialId);
            fail.executeUpdate();
        }
        Map<String, String> system = attributes(c, "trial_system_attributes", trialId);
        Map<String, String> user = attributes(c, "trial_user_attributes", trialId);
        List<Object[]> params = params(c, trialId);
        Double idxParam = null;
        for (Object[] param : params) {
            if (param[0].equals(TrialRows.INDEX_PARAM)) {
                idxParam = (Double) param[1];
            }
        }
        int index = TrialRows.index(system.get(TrialRows.FIXED_PARAMS), idxParam);
        TrialRows.setAttribute(c, "trial_user_attributes", trialId, FAIL_REASON, PythonJson.write(reason));

        JsonNode first = system.containsKey("failed_trial") ? PythonJson.read(system.get("failed_trial"))
                : JsonNodeFactory.instance.numberNode(number);
        JsonNode previous = system.containsKey("retry_history") ? PythonJson.read(system.get("retry_history")) : null;
        ArrayNode history = previous instanceof ArrayNode list ? list.deepCopy() : JsonNodeFactory.instance.arrayNode();
        history.add(number);
        if (maxRetries < history.size()) {
            return new StaleTrial(number, index, -1);
        }
        Map<String, String> retrySystem = new LinkedHashMap<>();
        retrySystem.put("failed_trial", PythonJson.write(first));
        retrySystem.put("retry_history", PythonJson.write(history));
        system.forEach(retrySystem::putIfAbsent);
        int retryId = TrialRows.insertWaiting(c, studyId, retryNumber);
        for (Object[] param : params) {
            TrialRows.insertParam(c, retryId, (String) param[0], (Double) param[1], (String) param[2]);
        }
        for (Map.Entry<String, String> attribute : user.entrySet()) {
            TrialRows.setAttribute(c, "trial_user_attributes", retryId, attribute.getKey(), attribute.getValue());
        }
        for (Map.Entry<String, String> attribute : retrySystem.entrySet()) {
            TrialRows.setAttribute(c, "trial_system_attributes", retryId, attribute.getKey(), attribute.getValue());
        }
        return new StaleTrial(number, index, retryNumber);
    }

    private static Map<String, String> attributes(Connection c, String table, int trialId) throws SQLException {
        Map<String, String> attributes = new LinkedHashMap<>();
        try (PreparedStatement select = c.prepareStatement("SELECT \"key\", value_json FROM " + table
                + " WHERE trial_id = ? ORDER BY 1")) {
            select.setInt(1, trialId);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    attributes.put(rows.getString(1), rows.getString(2));
                }
            }
        }
        return attributes;
    }

    /** The trial's parameters as (name, internal value, distribution JSON). */
    private static List<Object[]> params(Connection c, int trialId) throws SQLException {
        List<Object[]> params = new ArrayList<>();
        try (PreparedStatement select = c.prepareStatement("SELECT param_name, param_value, distribution_json"
                + " FROM trial_params WHERE trial_id = ? ORDER BY param_id")) {
            select.setInt(1, trialId);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    params.add(new Object[] {rows.getString(1), rows.getDouble(2), rows.getString(3)});
                }
            }
        }
        return params;
    }
}
