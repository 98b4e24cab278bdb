package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Creating a study or joining one: its row, its direction and the search's settings as its user attributes. */
final class Studies {

    static final int MAX_KEY_LENGTH = 512;

    private Studies() {
    }

    /** The study's id, after creating it or checking it (see {@link OptunaStudy#createOrLoad}). */
    static int createOrLoad(Connection c, String where, String name, StudyDirection direction,
                            Map<String, JsonNode> settings) throws SQLException {
        Integer id = null;
        try (PreparedStatement select = c.prepareStatement("SELECT study_id FROM studies WHERE study_name = ?")) {
            select.setString(1, name);
            try (ResultSet rows = select.executeQuery()) {
                if (rows.next()) {
                    id = rows.getInt(1);
                }
            }
        }
        if (id == null) {
            id = create(c, name, direction);
        } else {
            checkDirection(c, where, name, id, direction);
        }
        Map<String, JsonNode> stored = userAttributes(c, id);
        List<String> differences = differences(stored, settings);
        if (differences.isEmpty()) {
            for (Map.Entry<String, JsonNode> setting : settings.entrySet()) {
                if (!stored.containsKey(setting.getKey())) {
                    insertAttribute(c, id, setting.getKey(), PythonJson.write(setting.getValue()));
                }
            }
        } else {
            throw new StudyStorageException("study '" + name + "' in " + where + " belongs to a search with other"
                    + " settings (" + String.join("; ", differences) + "): give the same settings, or another"
                    + " study name");
        }
        return id;
    }

    private static int create(Connection c, String name, StudyDirection direction) throws SQLException {
        int id;
        try (PreparedStatement insert = c.prepareStatement(
                "INSERT INTO studies (study_name) VALUES (?) RETURNING study_id")) {
            insert.setString(1, name);
            try (ResultSet rows = insert.executeQuery()) {
                rows.next();
                id = rows.getInt(1);
            }
        }
        try (PreparedStatement insert = c.prepareStatement(
                "INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, 0)")) {
            insert.setString(1, direction.name());
            insert.setInt(2, id);
            insert.executeUpdate();
        }
        return id;
    }

    private static void checkDirection(Connection c, String where, String name, int id, StudyDirection direction)
            throws SQLException {
        List<String> directions = new ArrayList<>();
        try (PreparedStatement select = c.prepareStatement(
                "SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective")) {
            select.setInt(1, id);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    directions.add(rows.getString(1));
                }
            }
        }
        if (directions.size() != 1) {
            throw new StudyStorageException("study '" + name + "' in " + where + " has " + directions.size()
                    + " objectives " + directions + "; a search has one");
        }
        if (!directions.get(0).equals(direction.name())) {
            throw new StudyStorageException("study '" + name + "' in " + where + " is to " + directions.get(0)
                    + " its objective, this search to " + direction);
        }
    }

    /**
     * The settings whose stored value differs from the given one, as {@code key: stored there, given here}; a
     * setting not stored yet is no difference.
     */
    static List<String> differences(Map<String, JsonNode> stored, Map<String, JsonNode> settings) {
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, JsonNode> setting : settings.entrySet()) {
            JsonNode there = stored.get(setting.getKey());
            if (there != null && !there.equals(setting.getValue())) {
                differences.add(setting.getKey() + ": " + PythonJson.write(there) + " there, "
                        + PythonJson.write(setting.getValue()) + " here");
            }
        }
        return differences;
    }

    /** The names of the database's studies, by id. */
    static List<String> names(Connection c) throws SQLException {
        List<String> names = new ArrayList<>();
        try (PreparedStatement select = c.prepareStatement("SELECT study_name FROM studies ORDER BY study_id");
             ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                names.add(rows.getString(1));
            }
        }
        return names;
    }

    /** The id and direction of the study {@code name}, or null when there is none or it has not one objective. */
    static Object[] find(Connection c, String name) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT s.study_id, d.direction FROM studies s"
                + " JOIN study_directions d ON d.study_id = s.study_id WHERE s.study_name = ?")) {
            select.setString(1, name);
            try (ResultSet rows = select.executeQuery()) {
                if (!rows.next()) {
                    return null;
                }
                Object[] found = {rows.getInt(1), StudyDirection.valueOf(rows.getString(2))};
                return rows.next() ? null : found;
            }
        }
    }

    /** The study's user attributes, key to JSON. */
    static Map<String, JsonNode> userAttributes(Connection c, int studyId) throws SQLException {
        Map<String, JsonNode> attributes = new LinkedHashMap<>();
        try (PreparedStatement select = c.prepareStatement("SELECT \"key\", value_json FROM study_user_attributes"
                + " WHERE study_id = ? ORDER BY study_user_attribute_id")) {
            select.setInt(1, studyId);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    attributes.put(rows.getString(1), PythonJson.read(rows.getString(2)));
                }
            }
        }
        return attributes;
    }

    private static void insertAttribute(Connection c, int studyId, String key, String json) throws SQLException {
        try (PreparedStatement insert = c.prepareStatement(
                "INSERT INTO study_user_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?)")) {
            insert.setInt(1, studyId);
            insert.setString(2, key);
            insert.setString(3, json);
            insert.executeUpdate();
        }
    }

    /** Locks the study's row until the transaction ends (PostgreSQL), so that trial numbers are counted once. */
    static void lock(Connection c, Dialect dialect, int studyId) throws SQLException {
        try (PreparedStatement lock = c.prepareStatement(
                "SELECT study_id FROM studies WHERE study_id = ?" + dialect.forUpdate())) {
            lock.setInt(1, studyId);
            lock.executeQuery().close();
        }
    }
}
