package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One study of a {@link StudyDatabase}, shared by any number of workers (threads, processes, machines, and Optuna
 * itself): the list indices to try are its WAITING trials, each popped by one worker, run with heartbeats, and ended
 * COMPLETE, PRUNED or FAIL, as Optuna's RDB storage records them. Every method is one transaction: a refused or
 * failed call writes nothing.
 *
 * <p>What it writes, as Optuna does: a study row and its direction ({@code study_directions}); the search's
 * settings as study user attributes (JSON, {@code value_json}); per enqueued index a WAITING trial numbered by the
 * study's trial count, with system attribute {@code fixed_params} = {@code {"idx": 7}} ({@code enqueue_trial}); at
 * pop, state RUNNING, {@code datetime_start}, parameter {@code idx} with distribution
 * {@code IntDistribution(0, 999)} (what {@code trial.suggest_int("idx", 0, 999)} writes) and a first heartbeat; the
 * loss curve in {@code trial_intermediate_values}; the objective in {@code trial_values}; times in UTC.
 */
public final class OptunaStudy {

    /** The parameter holding the list index ({@code trial.suggest_int("idx", 0, 999)} in Python). */
    public static final String INDEX_PARAM = TrialRows.INDEX_PARAM;
    /** The largest list index the {@code idx} parameter's distribution allows. */
    public static final int INDEX_HIGH = TrialRows.INDEX_HIGH;
    /** The user attribute {@link #failStale} gives a trial it fails, saying why. */
    public static final String FAIL_REASON = TrialQueue.FAIL_REASON;

    private final StudyDatabase database;
    private final String name;
    private final int id;
    private final StudyDirection direction;

    private OptunaStudy(StudyDatabase database, String name, int id, StudyDirection direction) {
        this.database = database;
        this.name = name;
        this.id = id;
        this.direction = direction;
    }

    /**
     * Creates the study {@code name} with {@code direction} and {@code settings} as its user attributes, or joins it
     * when it exists (made here or by Optuna): then its direction must be {@code direction}, and each setting it
     * already has must equal the given one (compared as JSON); settings it lacks are added (a study Optuna made
     * gets them from its first worker here).
     *
     * @param settings key to value (anything Jackson writes as JSON: strings, numbers, lists, maps, JsonNode)
     * @throws IllegalArgumentException for a null argument, a blank name or key, or a name or key over 512
     *                                  characters (Optuna's column width)
     * @throws StudyStorageException    when the study's direction differs or it has more than one objective, or a
     *                                  setting differs (naming each key and both values); nothing is written then
     */
    public static OptunaStudy createOrLoad(StudyDatabase database, String name, StudyDirection direction,
                                           Map<String, ?> settings) {
        if (database == null || direction == null || settings == null) {
            throw new IllegalArgumentException("createOrLoad needs a database, a direction and settings");
        }
        requireKey("study name", name);
        Map<String, JsonNode> json = normalized(settings);
        int id = database.transaction("open study '" + name + "'",
                c -> Studies.createOrLoad(c, database.where(), name, direction, json));
        return new OptunaStudy(database, name, id, direction);
    }

    /** The names of the studies in {@code database}, oldest first. */
    public static List<String> names(StudyDatabase database) {
        if (database == null) {
            throw new IllegalArgumentException("database must not be null");
        }
        return database.transaction("list the studies", Studies::names);
    }

    /**
     * The study {@code name} of {@code database} as it is, for reading: empty when there is none (or it has more than
     * one objective, which no search writes).
     */
    public static Optional<OptunaStudy> load(StudyDatabase database, String name) {
        if (database == null) {
            throw new IllegalArgumentException("database must not be null");
        }
        requireKey("study name", name);
        Object[] found = database.transaction("open study '" + name + "'", c -> Studies.find(c, name));
        return found == null ? Optional.empty()
                : Optional.of(new OptunaStudy(database, name, (Integer) found[0], (StudyDirection) found[1]));
    }

    /** The settings as JSON, as read back from the database: a Long 5 and a stored 5 are then the same node. */
    private static Map<String, JsonNode> normalized(Map<String, ?> settings) {
        Map<String, JsonNode> json = new LinkedHashMap<>();
        for (Map.Entry<String, ?> setting : settings.entrySet()) {
            requireKey("setting name", setting.getKey());
            json.put(setting.getKey(), PythonJson.read(PythonJson.write(PythonJson.tree(setting.getValue()))));
        }
        return json;
    }

    /**
     * The settings the study records with another value than {@code settings} gives, as
     * {@code key: stored there, given here} (what {@link #createOrLoad} refuses); reads only.
     *
     * @throws IllegalArgumentException for a null map or a blank key or one over 512 characters
     */
    public List<String> settingDifferences(Map<String, ?> settings) {
        if (settings == null) {
            throw new IllegalArgumentException("settings must not be null");
        }
        return Studies.differences(userAttributes(), normalized(settings));
    }

    private static void requireKey(String what, String key) {
        if (key == null || key.isBlank() || key.length() > Studies.MAX_KEY_LENGTH) {
            throw new IllegalArgumentException(what + " must be 1-" + Studies.MAX_KEY_LENGTH
                    + " characters, not blank, got " + (key == null ? null : "'" + key + "'"));
        }
    }

    /** The study's name. */
    public String name() {
        return name;
    }

    /** The study's id in its database ({@code studies.study_id}). */
    public int id() {
        return id;
    }

    /** Whether the study minimizes or maximizes. */
    public StudyDirection direction() {
        return direction;
    }

    /** The database the study lives in. */
    public StudyDatabase database() {
        return database;
    }

    /** The study's user attributes (the settings of the searches that joined it), key to JSON. */
    public Map<String, JsonNode> userAttributes() {
        return database.transaction("read study '" + name + "'", c -> Studies.userAttributes(c, id));
    }

    /**
     * Enqueues, in the given order, a WAITING trial for each index the study has no trial of yet (in any state:
     * an index that failed more than the retries allow is not enqueued again), numbered as Optuna numbers trials.
     *
     * @return the indices enqueued now
     * @throws IllegalArgumentException for a null list or an index outside 0-999
     */
    public List<Integer> enqueue(List<Integer> indices) {
        if (indices == null) {
            throw new IllegalArgumentException("indices must not be null");
        }
        for (Integer index : indices) {
            if (index == null || index < 0 || index > INDEX_HIGH) {
                throw new IllegalArgumentException("list index must be in 0-" + INDEX_HIGH + ", got " + index);
            }
        }
        return database.transaction("enqueue trials", c -> TrialQueue.enqueue(c, database.dialect(), id, indices));
    }

    /**
     * Enqueues, in the given order, a WAITING trial for each candidate label the study has no trial of yet, with
     * system attribute {@code fixed_params} = {@code {"candidate": label}}: a candidate that is not a list index
     * under the search's variant (a custom configuration, an entry under the other variant). Such a trial has no
     * {@code idx} parameter; only a worker that knows the label runs it.
     *
     * @return the labels enqueued now
     * @throws IllegalArgumentException for a null list or a blank label or one over 512 characters
     */
    public List<String> enqueueLabels(List<String> labels) {
        if (labels == null) {
            throw new IllegalArgumentException("labels must not be null");
        }
        for (String label : labels) {
            requireKey("candidate label", label);
        }
        return database.transaction("enqueue trials", c -> TrialQueue.enqueueLabels(c, database.dialect(), id,
                labels));
    }

    /**
     * Takes the WAITING trial enqueued first that has a list index (its {@code fixed_params} or its {@code idx}
     * parameter) or a candidate label ({@link #enqueueLabels}; another program's trials without either stay
     * WAITING) and makes it RUNNING, atomically: no two
     * workers get the same trial. Empty when none is waiting.
     */
    public Optional<RunningTrial> pop() {
        return database.transaction("pop a trial", c -> TrialQueue.pop(c, database.dialect(), id));
    }

    /**
     * Records a heartbeat of {@code trial} now, on the database's clock.
     *
     * @return false, writing nothing, when the trial is no longer RUNNING (another worker failed it as stale): the
     *         caller should stop it
     * @throws IllegalArgumentException for a null trial
     */
    public boolean heartbeat(RunningTrial trial) {
        require(trial);
        return database.transaction("record a heartbeat", c -> {
            if (TrialRecorder.state(c, database.dialect(), trial.trialId()) != TrialState.RUNNING) {
                return false;
            }
            TrialRecorder.beat(c, database.dialect(), trial.trialId());
            return true;
        });
    }

    /**
     * Sets user attributes of a running {@code trial} (what it runs, so that a trial whose worker dies still says
     * so), replacing those of the same keys.
     *
     * @throws IllegalArgumentException for a null argument or a blank key or one over 512 characters
     * @throws StudyStorageException    when the trial is no longer RUNNING
     */
    public void setUserAttributes(RunningTrial trial, Map<String, ?> userAttributes) {
        Map<String, JsonNode> json = checkedAttributes(trial, userAttributes);
        database.transaction("set attributes of trial " + trial.number(), c -> {
            TrialRecorder.requireRunning(c, database.dialect(), trial, "set attributes of");
            for (Map.Entry<String, JsonNode> attribute : json.entrySet()) {
                TrialRows.setAttribute(c, "trial_user_attributes", trial.trialId(), attribute.getKey(),
                        PythonJson.write(attribute.getValue()));
            }
            return null;
        });
    }

    /** {@link #report(RunningTrial, SortedMap)} of one step. */
    public void report(RunningTrial trial, int step, double loss) {
        report(trial, new TreeMap<>(Map.of(step, loss)));
    }

    /**
     * Records intermediate values of {@code trial}, step to loss (NaN and infinities stored as Optuna stores them),
     * replacing earlier ones of the same steps.
     *
     * @throws IllegalArgumentException for a null trial or map, or a negative step
     * @throws StudyStorageException    when the trial is no longer RUNNING
     */
    public void report(RunningTrial trial, SortedMap<Integer, Double> losses) {
        require(trial);
        if (losses == null || losses.containsValue(null) || !losses.isEmpty() && losses.firstKey() < 0) {
            throw new IllegalArgumentException("losses must map steps >= 0 to values, got " + losses);
        }
        database.transaction("record intermediate values", c -> {
            TrialRecorder.requireRunning(c, database.dialect(), trial, "report on");
            TrialRecorder.report(c, trial, losses);
            return null;
        });
    }

    /**
     * Ends {@code trial} COMPLETE with objective {@code value} (infinities allowed) and the user attributes.
     *
     * @throws IllegalArgumentException for a null argument or a NaN value (Optuna fails such a trial: use
     *                                  {@link #fail})
     * @throws StudyStorageException    when the trial is no longer RUNNING
     */
    public void complete(RunningTrial trial, double value, Map<String, ?> userAttributes) {
        if (Double.isNaN(value)) {
            throw new IllegalArgumentException("a COMPLETE trial needs a value, got NaN (fail the trial instead)");
        }
        finish(trial, TrialState.COMPLETE, value, userAttributes);
    }

    /** Ends {@code trial} FAIL, without a value, with the user attributes (the reason among them). */
    public void fail(RunningTrial trial, Map<String, ?> userAttributes) {
        finish(trial, TrialState.FAIL, null, userAttributes);
    }

    /** Ends {@code trial} PRUNED, its value its last intermediate value (none when it is NaN or there is none). */
    public void prune(RunningTrial trial, Map<String, ?> userAttributes) {
        finish(trial, TrialState.PRUNED, null, userAttributes);
    }

    private void finish(RunningTrial trial, TrialState state, Double value, Map<String, ?> userAttributes) {
        Map<String, JsonNode> json = checkedAttributes(trial, userAttributes);
        database.transaction("end trial " + trial.number(), c -> {
            TrialRecorder.finish(c, database.dialect(), trial, state, value, json);
            return null;
        });
    }

    /**
     * Fails every RUNNING trial of the study whose last heartbeat is older than {@code gracePeriod} (on the
     * database's clock; a trial without heartbeats is left alone, as Optuna does), giving it the user attribute
     * {@link #FAIL_REASON}, and enqueues each again as Optuna's {@code RetryFailedTrialCallback(max_retry)} does:
     * a WAITING trial with its parameters and attributes and the system attributes {@code failed_trial} and
     * {@code retry_history}, unless its series has failed more than {@code maxRetries} times.
     *
     * @throws IllegalArgumentException for a grace period under one second or negative retries
     */
    public List<StaleTrial> failStale(Duration gracePeriod, int maxRetries) {
        if (gracePeriod == null || gracePeriod.compareTo(Duration.ofSeconds(1)) < 0 || maxRetries < 0) {
            throw new IllegalArgumentException("failStale needs a grace period of at least 1 s and retries >= 0, got "
                    + gracePeriod + " and " + maxRetries);
        }
        double seconds = gracePeriod.toMillis() / 1000.0;
        return database.transaction("fail stale trials",
                c -> TrialQueue.failStale(c, database.dialect(), id, seconds, maxRetries));
    }

    /**
     * Fails {@code trial}, which its worker gives up for a reason of its own (the process stops), with the user
     * attribute {@link #FAIL_REASON}, and enqueues it again as {@link #failStale} does a stale one, so that another
     * run takes it at once rather than after the grace period.
     *
     * @throws IllegalArgumentException for a null argument or negative retries
     * @throws StudyStorageException    when the trial is no longer RUNNING
     */
    public StaleTrial abandon(RunningTrial trial, String reason, int maxRetries) {
        require(trial);
        if (reason == null || maxRetries < 0) {
            throw new IllegalArgumentException("abandon needs a reason and retries >= 0, got " + reason + " and "
                    + maxRetries);
        }
        return database.transaction("abandon trial " + trial.number(),
                c -> TrialQueue.abandon(c, database.dialect(), id, trial, reason, maxRetries));
    }

    /** All the study's trials with their parameters, values, intermediate values and attributes, by number. */
    public List<StoredTrial> trials() {
        return database.transaction("read the trials of study '" + name + "'",
                c -> TrialReader.trials(c, database.dialect(), id));
    }

    /**
     * A finished trial's state and the last step of its intermediate values.
     *
     * @param state    COMPLETE, PRUNED or FAIL
     * @param lastStep its last intermediate value's step, -1 without any
     */
    public record LastStep(TrialState state, int lastStep) {
    }

    /** The state and last reported step of every finished (COMPLETE, PRUNED, FAIL) trial of the study. */
    public List<LastStep> lastStepsOfFinished() {
        return database.transaction("read the finished trials of study '" + name + "'",
                c -> TrialReader.lastStepsOfFinished(c, id));
    }

    /**
     * The user attribute {@code key} of each COMPLETE trial of the study that has it, by trial id, leaving out the
     * trials in {@code known}: what a worker has not yet read of the trials completed since it last asked.
     *
     * @throws IllegalArgumentException if {@code key} or {@code known} is null
     */
    public Map<Integer, JsonNode> completedUserAttribute(String key, Set<Integer> known) {
        if (key == null || known == null) {
            throw new IllegalArgumentException("key and known must not be null");
        }
        return database.transaction("read the completed trials of study '" + name + "'",
                c -> TrialReader.completedAttribute(c, id, key, known));
    }

    /**
     * {@code userAttributes} as JSON trees, once the trial, the map and every key are checked: before anything is
     * written.
     */
    private static Map<String, JsonNode> checkedAttributes(RunningTrial trial, Map<String, ?> userAttributes) {
        require(trial);
        if (userAttributes == null) {
            throw new IllegalArgumentException("userAttributes must not be null");
        }
        Map<String, JsonNode> json = new LinkedHashMap<>();
        for (Map.Entry<String, ?> attribute : userAttributes.entrySet()) {
            requireKey("attribute name", attribute.getKey());
            json.put(attribute.getKey(), PythonJson.tree(attribute.getValue()));
        }
        return json;
    }

    private static void require(RunningTrial trial) {
        if (trial == null) {
            throw new IllegalArgumentException("trial must not be null");
        }
    }
}
