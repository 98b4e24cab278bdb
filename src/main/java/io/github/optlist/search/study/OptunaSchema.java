package io.github.optlist.search.study;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Optuna's RDB schema as Optuna 3.2 and later create it in an empty database ({@code models.py} through SQLAlchemy's
 * {@code create_all}, then alembic stamped at its head {@value #HEAD}, and {@code version_info} with schema version
 * {@value #SCHEMA_VERSION}): the same tables, columns, types, keys, unique constraints and indexes, on SQLite
 * (enums as {@code VARCHAR} of their longest name, as SQLAlchemy 1.4 and later emit them, without a check
 * constraint) and on PostgreSQL (enums as {@code CREATE TYPE ... AS ENUM} named {@code studydirection},
 * {@code trialstate}, {@code trialvaluetype} and {@code trialintermediatevaluetype}).
 */
final class OptunaSchema {

    /** The alembic revision this package creates. */
    static final String HEAD = "v3.2.0.a";
    /**
     * The revision before {@link #HEAD}, which Optuna 3.0 and 3.1 (Debian's python3-optuna) create: the same tables
     * and columns, without the index on {@code trials.study_id} that {@code v3.2.0.a} adds. Such a database is read
     * and written as it is, its revision left alone, so that the Optuna that made it still opens it; adding the index
     * here would make Optuna's own upgrade fail on it.
     */
    static final String OPTUNA_3_0 = "v3.0.0.d";
    /** Optuna's {@code models.SCHEMA_VERSION}, frozen since alembic took over. */
    static final int SCHEMA_VERSION = 12;
    /**
     * What {@code version_info.library_version} says for a database made here: the first Optuna release whose schema
     * this is (Optuna shows the value only in its message about an outdated schema).
     */
    static final String LIBRARY_VERSION = "3.2.0";

    /** Optuna's tables, in the order create_all makes them. */
    static final List<String> TABLES = List.of("studies", "version_info", "study_directions",
            "study_system_attributes", "study_user_attributes", "trials", "trial_heartbeats",
            "trial_intermediate_values", "trial_params", "trial_system_attributes", "trial_user_attributes",
            "trial_values", "alembic_version");

    private static final String[] ENUMS = {
        "CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE')",
        "CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING')",
        "CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN')",
        "CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG')",
    };

    // {id}: an auto-numbered key; {float}, {datetime}, {key}: the dialect's spelling; {enum:NAME:LENGTH}: an enum.
    private static final String[] DDL = {
        "CREATE TABLE studies (study_id {id} NOT NULL, study_name VARCHAR(512) NOT NULL, PRIMARY KEY (study_id))",
        "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)",
        "CREATE TABLE version_info (version_info_id INTEGER NOT NULL, schema_version INTEGER, library_version"
            + " VARCHAR(256), PRIMARY KEY (version_info_id), CHECK (version_info_id=1))",
        "CREATE TABLE study_directions (study_direction_id {id} NOT NULL, direction {enum:studydirection:8} NOT NULL,"
            + " study_id INTEGER NOT NULL, objective INTEGER NOT NULL, PRIMARY KEY (study_direction_id),"
            + " UNIQUE (study_id, objective), FOREIGN KEY(study_id) REFERENCES studies (study_id))",
        attributes("study_system_attributes", "study_system_attribute_id", "study_id", "studies"),
        attributes("study_user_attributes", "study_user_attribute_id", "study_id", "studies"),
        "CREATE TABLE trials (trial_id {id} NOT NULL, number INTEGER, study_id INTEGER, state {enum:trialstate:8}"
            + " NOT NULL, datetime_start {datetime}, datetime_complete {datetime}, PRIMARY KEY (trial_id),"
            + " FOREIGN KEY(study_id) REFERENCES studies (study_id))",
        "CREATE INDEX ix_trials_study_id ON trials (study_id)",
        "CREATE TABLE trial_heartbeats (trial_heartbeat_id {id} NOT NULL, trial_id INTEGER NOT NULL, heartbeat"
            + " {datetime} NOT NULL, PRIMARY KEY (trial_heartbeat_id), UNIQUE (trial_id),"
            + " FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
        "CREATE TABLE trial_intermediate_values (trial_intermediate_value_id {id} NOT NULL, trial_id INTEGER NOT NULL,"
            + " step INTEGER NOT NULL, intermediate_value {float}, intermediate_value_type"
            + " {enum:trialintermediatevaluetype:7} NOT NULL, PRIMARY KEY (trial_intermediate_value_id),"
            + " UNIQUE (trial_id, step), FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
        "CREATE TABLE trial_params (param_id {id} NOT NULL, trial_id INTEGER, param_name VARCHAR(512), param_value"
            + " {float}, distribution_json TEXT, PRIMARY KEY (param_id), UNIQUE (trial_id, param_name),"
            + " FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
        attributes("trial_system_attributes", "trial_system_attribute_id", "trial_id", "trials"),
        attributes("trial_user_attributes", "trial_user_attribute_id", "trial_id", "trials"),
        "CREATE TABLE trial_values (trial_value_id {id} NOT NULL, trial_id INTEGER NOT NULL, objective INTEGER NOT"
            + " NULL, value {float}, value_type {enum:trialvaluetype:7} NOT NULL, PRIMARY KEY (trial_value_id),"
            + " UNIQUE (trial_id, objective), FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,"
            + " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    };

    private OptunaSchema() {
    }

    private static String attributes(String table, String id, String owner, String owners) {
        return "CREATE TABLE " + table + " (" + id + " {id} NOT NULL, " + owner + " INTEGER, {key} VARCHAR(512),"
                + " value_json TEXT, PRIMARY KEY (" + id + "), UNIQUE (" + owner + ", {key}),"
                + " FOREIGN KEY(" + owner + ") REFERENCES " + owners + " (" + owner + "))";
    }

    /** The statements that create the schema in an empty database of {@code dialect}, the stamps included. */
    static List<String> createStatements(Dialect dialect) {
        List<String> statements = new ArrayList<>();
        boolean postgres = dialect == Dialect.POSTGRESQL;
        if (postgres) {
            statements.addAll(List.of(ENUMS));
        }
        for (String ddl : DDL) {
            String sql = ddl.replace("{id}", postgres ? "SERIAL" : "INTEGER")
                    .replace("{float}", postgres ? "FLOAT(53)" : "FLOAT")
                    .replace("{datetime}", postgres ? "TIMESTAMP WITHOUT TIME ZONE" : "DATETIME")
                    .replace("{key}", postgres ? "key" : "\"key\"");
            statements.add(sql.replaceAll("\\{enum:(\\w+):(\\d+)}", postgres ? "$1" : "VARCHAR($2)"));
        }
        statements.add("INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, "
                + SCHEMA_VERSION + ", '" + LIBRARY_VERSION + "')");
        statements.add("INSERT INTO alembic_version (version_num) VALUES ('" + HEAD + "')");
        return statements;
    }

    /**
     * Creates the schema when {@code connection}'s database has none of Optuna's tables, else checks that it is
     * Optuna's at {@link #HEAD} or {@link #OPTUNA_3_0}; in the caller's transaction, which a refusal leaves without
     * a write.
     *
     * @throws StudyStorageException naming {@code where}: "not an Optuna database" when some of Optuna's tables are
     *                               missing, or "schema revision X, expected v3.2.0.a or v3.0.0.d" (or a schema
     *                               version other than 12)
     */
    static void createOrCheck(Connection connection, Dialect dialect, String where) throws SQLException {
        Set<String> present = tables(connection, dialect);
        if (present.isEmpty()) {
            try (Statement statement = connection.createStatement()) {
                for (String sql : createStatements(dialect)) {
                    statement.execute(sql);
                }
            }
            return;
        }
        Set<String> missing = new TreeSet<>(TABLES);
        missing.removeAll(present);
        if (!missing.isEmpty()) {
            throw new StudyStorageException(where + " is not an Optuna database: it has " + present
                    + " but not " + missing);
        }
        String revision = single(connection, "SELECT version_num FROM alembic_version");
        if (!HEAD.equals(revision) && !OPTUNA_3_0.equals(revision)) {
            throw new StudyStorageException(where + " has Optuna's schema revision " + revision + ", expected "
                    + HEAD + " (Optuna 3.2 and later) or " + OPTUNA_3_0 + " (Optuna 3.0 and 3.1)"
                    + (revision != null && revision.compareTo(OPTUNA_3_0) < 0
                    ? ": upgrade it with Optuna 3.2 or later, optuna storage upgrade --storage URL" : ""));
        }
        String version = single(connection, "SELECT schema_version FROM version_info");
        if (!Integer.toString(SCHEMA_VERSION).equals(version)) {
            throw new StudyStorageException(where + " has Optuna's schema_version " + version + " in version_info,"
                    + " expected " + SCHEMA_VERSION);
        }
    }

    /** Which of Optuna's tables the database has (in the connection's schema on PostgreSQL). */
    private static Set<String> tables(Connection connection, Dialect dialect) throws SQLException {
        String sql = dialect == Dialect.SQLITE ? "SELECT name FROM sqlite_master WHERE type = 'table'"
                : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()";
        Set<String> present = new TreeSet<>();
        try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
            while (rows.next()) {
                String name = rows.getString(1).toLowerCase(Locale.ROOT);
                if (TABLES.contains(name)) {
                    present.add(name);
                }
            }
        }
        return present;
    }

    /** The one value {@code sql} selects, as text; null when there is no row or more than one. */
    private static String single(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
            String value = rows.next() ? rows.getString(1) : null;
            return rows.next() ? null : value;
        }
    }
}
