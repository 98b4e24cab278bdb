package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.SortedMap;

/** What a worker writes about the trial it runs: heartbeats, intermediate values, the end. */
final class TrialRecorder {

    private TrialRecorder() {
    }

    /** Records a heartbeat now (the database's clock), as Optuna's {@code record_heartbeat}. */
    static void beat(Connection c, Dialect dialect, int trialId) throws SQLException {
        try (PreparedStatement upsert = c.prepareStatement("INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES"
                + " (?, " + dialect.now() + ") ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat")) {
            upsert.setInt(1, trialId);
            upsert.executeUpdate();
        }
    }

    /** The trial's state, locked until the transaction ends on PostgreSQL. */
    static TrialState state(Connection c, Dialect dialect, int trialId) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT state FROM trials WHERE trial_id = ?"
                + dialect.forUpdate())) {
            select.setInt(1, trialId);
            try (ResultSet rows = select.executeQuery()) {
                if (!rows.next()) {
                    throw new StudyStorageException("trial id " + trialId + " is not in the study database");
                }
                return TrialState.valueOf(rows.getString(1));
            }
        }
    }

    /** Refuses to write about {@code trial} unless it is RUNNING (another worker may have failed it as stale). */
    static void requireRunning(Connection c, Dialect dialect, RunningTrial trial, String what) throws SQLException {
        TrialState state = state(c, dialect, trial.trialId());
        if (state != TrialState.RUNNING) {
            throw new StudyStorageException("cannot " + what + " trial " + trial.number() + " (index "
                    + trial.index() + "): it is " + state + (state == TrialState.FAIL
                    ? ", failed by a worker that found no heartbeat of it within the grace period" : ""));
        }
    }

    /** Writes intermediate values (step to loss), replacing those of the same steps. */
    static void report(Connection c, RunningTrial trial, SortedMap<Integer, Double> losses) throws SQLException {
        try (PreparedStatement upsert = c.prepareStatement("INSERT INTO trial_intermediate_values (trial_id, step,"
                + " intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step)"
                + " DO UPDATE SET intermediate_value = excluded.intermediate_value,"
                + " intermediate_value_type = excluded.intermediate_value_type")) {
            for (Map.Entry<Integer, Double> loss : losses.entrySet()) {
                upsert.setInt(1, trial.trialId());
                upsert.setInt(2, loss.getKey());
                TrialRows.setFloat(upsert, 3, loss.getValue());
                upsert.addBatch();
            }
            upsert.executeBatch();
        }
    }

    /**
     * Ends a RUNNING trial in {@code state} with {@code value} (null for none; for PRUNED, the last intermediate
     * value, as Optuna's {@code tell} does, unless it is NaN) and the user attributes.
     */
    static void finish(Connection c, Dialect dialect, RunningTrial trial, TrialState state, Double value,
                       Map<String, JsonNode> userAttributes) throws SQLException {
        requireRunning(c, dialect, trial, "finish");
        Double stored = state == TrialState.PRUNED ? lastIntermediateValue(c, trial.trialId()) : value;
        if (stored != null && !stored.isNaN()) {
            try (PreparedStatement upsert = c.prepareStatement("INSERT INTO trial_values (trial_id, objective, value,"
                    + " value_type) VALUES (?, 0, ?, ?) ON CONFLICT (trial_id, objective) DO UPDATE SET"
                    + " value = excluded.value, value_type = excluded.value_type")) {
                upsert.setInt(1, trial.trialId());
                TrialRows.setFloat(upsert, 2, stored);
                upsert.executeUpdate();
            }
        }
        for (Map.Entry<String, JsonNode> attribute : userAttributes.entrySet()) {
            TrialRows.setAttribute(c, "trial_user_attributes", trial.trialId(), attribute.getKey(),
                    PythonJson.write(attribute.getValue()));
        }
        try (PreparedStatement end = c.prepareStatement("UPDATE trials SET state = ?, datetime_complete = "
                + dialect.now() + " WHERE trial_id = ? AND state = 'RUNNING'")) {
            end.setString(1, state.name());
            end.setInt(2, trial.trialId());
            end.executeUpdate();
        }
    }

    private static Double lastIntermediateValue(Connection c, int trialId) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT intermediate_value, intermediate_value_type"
                + " FROM trial_intermediate_values WHERE trial_id = ? ORDER BY step DESC LIMIT 1")) {
            select.setInt(1, trialId);
            try (ResultSet rows = select.executeQuery()) {
                return rows.next() ? TrialRows.getFloat(rows, 1) : null;
            }
        }
    }
}
