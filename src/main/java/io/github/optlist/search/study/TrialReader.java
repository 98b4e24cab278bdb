package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/** Reading a whole study's trials, for the exports. */
final class TrialReader {

    /** SQLAlchemy's SQLite datetime text, and SQLite's own {@code CURRENT_TIMESTAMP} (no fraction). */
    private static final DateTimeFormatter SQLITE_TIME = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .toFormatter();

    private static final String OF_STUDY = " JOIN trials t ON t.trial_id = x.trial_id WHERE t.study_id = ?";

    private TrialReader() {
    }

    /** All trials of the study, ordered by number. */
    static List<StoredTrial> trials(Connection c, Dialect dialect, int studyId) throws SQLException {
        Map<Integer, Row> rows = new LinkedHashMap<>();
        try (PreparedStatement select = c.prepareStatement("SELECT trial_id, number, state, datetime_start,"
                + " datetime_complete FROM trials WHERE study_id = ? ORDER BY number, trial_id")) {
            select.setInt(1, studyId);
            try (ResultSet r = select.executeQuery()) {
                while (r.next()) {
                    rows.put(r.getInt(1), new Row(r.getInt(1), r.getInt(2), TrialState.valueOf(r.getString(3)),
                            time(r, 4, dialect), time(r, 5, dialect)));
                }
            }
        }
        forEach(c, "SELECT x.trial_id, x.value, x.value_type FROM trial_values x" + OF_STUDY
                + " AND x.objective = 0", studyId, r -> rows.get(r.getInt(1)).value = TrialRows.getFloat(r, 2));
        forEach(c, "SELECT x.trial_id, x.step, x.intermediate_value, x.intermediate_value_type"
                + " FROM trial_intermediate_values x" + OF_STUDY, studyId,
                r -> rows.get(r.getInt(1)).intermediate.put(r.getInt(2), TrialRows.getFloat(r, 3)));
        forEach(c, "SELECT x.trial_id, x.param_name, x.param_value FROM trial_params x" + OF_STUDY, studyId,
                r -> rows.get(r.getInt(1)).params.put(r.getString(2), r.getDouble(3)));
        forEach(c, "SELECT x.trial_id, x.\"key\", x.value_json FROM trial_user_attributes x" + OF_STUDY, studyId,
                r -> rows.get(r.getInt(1)).user.put(r.getString(2), PythonJson.read(r.getString(3))));
        forEach(c, "SELECT x.trial_id, x.\"key\", x.value_json FROM trial_system_attributes x" + OF_STUDY, studyId,
                r -> rows.get(r.getInt(1)).system.put(r.getString(2), r.getString(3)));
        List<StoredTrial> trials = new ArrayList<>();
        for (Row row : rows.values()) {
            Map<String, JsonNode> system = new HashMap<>();
            row.system.forEach((key, json) -> system.put(key, PythonJson.read(json)));
            int index = TrialRows.index(row.system.get(TrialRows.FIXED_PARAMS), row.params.get(TrialRows.INDEX_PARAM));
            String label = TrialRows.label(row.system.get(TrialRows.FIXED_PARAMS));
            trials.add(new StoredTrial(row.trialId, row.number, row.state, index, label, row.value, row.start,
                    row.complete, row.intermediate, row.params, row.user, system));
        }
        return trials;
    }

    /** See {@link OptunaStudy#lastStepsOfFinished}. */
    static List<OptunaStudy.LastStep> lastStepsOfFinished(Connection c, int studyId) throws SQLException {
        List<OptunaStudy.LastStep> finished = new ArrayList<>();
        forEach(c, "SELECT t.state, MAX(x.step) FROM trials t LEFT JOIN trial_intermediate_values x"
                + " ON x.trial_id = t.trial_id WHERE t.study_id = ? AND t.state IN ('COMPLETE', 'PRUNED', 'FAIL')"
                + " GROUP BY t.trial_id, t.state", studyId, r -> {
                    TrialState state = TrialState.valueOf(r.getString(1));
                    int last = r.getInt(2);
                    finished.add(new OptunaStudy.LastStep(state, r.wasNull() ? -1 : last));
                });
        return finished;
    }

    /** See {@link OptunaStudy#completedUserAttribute}: the ids first, then the values of the new ones only. */
    static Map<Integer, JsonNode> completedAttribute(Connection c, int studyId, String key, Set<Integer> known)
            throws SQLException {
        List<Integer> fresh = new ArrayList<>();
        try (PreparedStatement select = c.prepareStatement("SELECT x.trial_id FROM trial_user_attributes x" + OF_STUDY
                + " AND t.state = 'COMPLETE' AND x.\"key\" = ?")) {
            select.setInt(1, studyId);
            select.setString(2, key);
            try (ResultSet r = select.executeQuery()) {
                while (r.next()) {
                    if (!known.contains(r.getInt(1))) {
                        fresh.add(r.getInt(1));
                    }
                }
            }
        }
        Map<Integer, JsonNode> values = new LinkedHashMap<>();
        try (PreparedStatement select = c.prepareStatement("SELECT value_json FROM trial_user_attributes"
                + " WHERE trial_id = ? AND \"key\" = ?")) {
            for (int trialId : fresh) {
                select.setInt(1, trialId);
                select.setString(2, key);
                try (ResultSet r = select.executeQuery()) {
                    if (r.next()) {
                        values.put(trialId, PythonJson.read(r.getString(1)));
                    }
                }
            }
        }
        return values;
    }

    /** A trial as its rows are read. */
    private static final class Row {
        final int trialId;
        final int number;
        final TrialState state;
        final LocalDateTime start;
        final LocalDateTime complete;
        Double value;
        final SortedMap<Integer, Double> intermediate = new TreeMap<>();
        final Map<String, Double> params = new HashMap<>();
        final Map<String, JsonNode> user = new HashMap<>();
        final Map<String, String> system = new HashMap<>();

        Row(int trialId, int number, TrialState state, LocalDateTime start, LocalDateTime complete) {
            this.trialId = trialId;
            this.number = number;
            this.state = state;
            this.start = start;
            this.complete = complete;
        }
    }

    @FunctionalInterface
    private interface RowAction {
        void accept(ResultSet row) throws SQLException;
    }

    private static void forEach(Connection c, String sql, int studyId, RowAction action) throws SQLException {
        try (PreparedStatement select = c.prepareStatement(sql)) {
            select.setInt(1, studyId);
            try (ResultSet r = select.executeQuery()) {
                while (r.next()) {
                    action.accept(r);
                }
            }
        }
    }

    /** A datetime column: SQLite's text, PostgreSQL's {@code timestamp without time zone}; null stays null. */
    static LocalDateTime time(ResultSet r, int column, Dialect dialect) throws SQLException {
        if (dialect == Dialect.POSTGRESQL) {
            return r.getObject(column, LocalDateTime.class);
        }
        String text = r.getString(column);
        return text == null ? null : LocalDateTime.parse(text, SQLITE_TIME);
    }
}
