package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** The rows every trial operation writes, as Optuna writes them. */
final class TrialRows {

    /** The parameter that holds the list index, as a Python objective suggests it. */
    static final String INDEX_PARAM = "idx";
    /** The largest list index. */
    static final int INDEX_HIGH = 999;
    /** The index's distribution as Optuna's {@code distribution_to_json} writes {@code IntDistribution(0, 999)}. */
    static final String INDEX_DISTRIBUTION = "{\"name\": \"IntDistribution\", \"attributes\": {\"log\": false,"
            + " \"step\": 1, \"low\": 0, \"high\": " + INDEX_HIGH + "}}";
    /** The system attribute {@code enqueue_trial} writes the fixed parameters in. */
    static final String FIXED_PARAMS = "fixed_params";
    /**
     * The fixed parameter naming a candidate that is not a list index under the search's variant (a custom
     * configuration, or an entry under another variant), by its label.
     */
    static final String CANDIDATE_PARAM = "candidate";

    private TrialRows() {
    }

    /** How many trials the study has: the next trial's number, as Optuna counts it (under the study's lock). */
    static int count(Connection c, int studyId) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT COUNT(*) FROM trials WHERE study_id = ?")) {
            select.setInt(1, studyId);
            try (ResultSet rows = select.executeQuery()) {
                rows.next();
                return rows.getInt(1);
            }
        }
    }

    /** Inserts a WAITING trial numbered {@code number}, as Optuna's {@code add_trial} does; returns its id. */
    static int insertWaiting(Connection c, int studyId, int number) throws SQLException {
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO trials (number, study_id, state,"
                + " datetime_start, datetime_complete) VALUES (?, ?, 'WAITING', NULL, NULL) RETURNING trial_id")) {
            insert.setInt(1, number);
            insert.setInt(2, studyId);
            try (ResultSet rows = insert.executeQuery()) {
                rows.next();
                return rows.getInt(1);
            }
        }
    }

    /** Sets a trial's attribute in {@code table} ({@code trial_user_attributes} or {@code trial_system_attributes}). */
    static void setAttribute(Connection c, String table, int trialId, String key, String json) throws SQLException {
        try (PreparedStatement upsert = c.prepareStatement("INSERT INTO " + table + " (trial_id, \"key\", value_json)"
                + " VALUES (?, ?, ?) ON CONFLICT (trial_id, \"key\") DO UPDATE SET value_json = excluded.value_json")) {
            upsert.setInt(1, trialId);
            upsert.setString(2, key);
            upsert.setString(3, json);
            upsert.executeUpdate();
        }
    }

    /** Adds a parameter to a trial that has none of that name. */
    static void insertParam(Connection c, int trialId, String name, double value, String distribution)
            throws SQLException {
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO trial_params (trial_id, param_name,"
                + " param_value, distribution_json) VALUES (?, ?, ?, ?)")) {
            insert.setInt(1, trialId);
            insert.setString(2, name);
            insert.setDouble(3, value);
            insert.setString(4, distribution);
            insert.executeUpdate();
        }
    }

    /**
     * The list index a trial runs: {@code idx} of its {@code fixed_params} JSON, else its {@code idx} parameter;
     * -1 when neither is an integer in 0-999.
     */
    static int index(String fixedParams, Double param) {
        if (fixedParams != null) {
            JsonNode idx = PythonJson.read(fixedParams).get(INDEX_PARAM);
            if (idx != null && idx.isNumber()) {
                return index(idx.doubleValue());
            }
        }
        return param == null ? -1 : index(param);
    }

    /** The candidate label of a trial's {@code fixed_params} JSON, or null when it names none. */
    static String label(String fixedParams) {
        if (fixedParams == null) {
            return null;
        }
        JsonNode label = PythonJson.read(fixedParams).get(CANDIDATE_PARAM);
        return label != null && label.isTextual() ? label.asText() : null;
    }

    private static int index(double value) {
        return value == Math.rint(value) && value >= 0 && value <= INDEX_HIGH ? (int) value : -1;
    }

    /** The stored pair (value, type) of Optuna's float columns: NaN and infinities are a type with no value. */
    static void setFloat(PreparedStatement statement, int valueColumn, double value) throws SQLException {
        String type = Double.isNaN(value) ? "NAN" : value == Double.POSITIVE_INFINITY ? "INF_POS"
                : value == Double.NEGATIVE_INFINITY ? "INF_NEG" : "FINITE";
        if (type.equals("FINITE")) {
            statement.setDouble(valueColumn, value);
        } else {
            statement.setNull(valueColumn, java.sql.Types.DOUBLE);
        }
        statement.setString(valueColumn + 1, type);
    }

    /** The value of a stored pair (value, type); see {@link #setFloat}. */
    static double getFloat(ResultSet rows, int valueColumn) throws SQLException {
        double value = rows.getDouble(valueColumn);
        return switch (rows.getString(valueColumn + 1)) {
            case "NAN" -> Double.NaN;
            case "INF_POS" -> Double.POSITIVE_INFINITY;
            case "INF_NEG" -> Double.NEGATIVE_INFINITY;
            default -> value;
        };
    }
}
