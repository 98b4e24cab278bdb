package io.github.optlist.search;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.search.study.OptunaStudy;
import io.github.optlist.search.study.RunningTrial;
import io.github.optlist.search.study.StoredTrial;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How a search's settings and trials are written into a study and read back: the settings as study user attributes,
 * each result as trial user attributes beside Optuna's own columns, and a stored trial as a {@link TrialResult}.
 */
final class StudyTrials {

    /** The format of what a study holds, recorded with the settings: a worker of another format is refused. */
    static final String FORMAT = "opt-list-study/1";

    static final String LABEL = "label";
    static final String INDEX = "index";
    static final String NAME = "name";
    static final String VARIANT = "variant";
    static final String CONFIG = "config";
    static final String STATUS = "status";
    static final String REASON = "reason";
    static final String SECONDS = "seconds";
    static final String OBJECTIVE = "objective";
    /** What a COMPLETE trial leaves for the pruner ({@link PruningMonitor#recordedValues}), under a pruner only. */
    static final String PRUNER_VALUES = "pruner_values";

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private StudyTrials() {
    }

    /**
     * The settings every worker of one study must share, as the study's user attributes: what makes the trials'
     * objectives comparable. The range of indices is not among them: a worker with a larger {@code --trials}
     * extends the study.
     */
    static Map<String, Object> settingsAttributes(SearchSettings s) {
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("opt_list_format", FORMAT);
        attributes.put("task", s.task());
        attributes.put("training_steps", s.trainingSteps());
        attributes.put("seed", s.seed());
        attributes.put("direction", s.direction().name());
        attributes.put("divergence_factor", s.divergence().factor());
        attributes.put("divergence_grace", s.divergence().graceSteps());
        attributes.put("variant", s.variant().name());
        attributes.put("pruner", s.pruner().toString());
        attributes.put("budget_full_trials", s.budget().fullTrials());
        return attributes;
    }

    /** What a finished trial records beside its state and value: enough to rebuild its result. */
    static Map<String, Object> resultAttributes(TrialResult r) {
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put(LABEL, r.label());
        attributes.put(INDEX, r.index());
        attributes.put(NAME, r.name());
        attributes.put(VARIANT, r.variant().name());
        attributes.put(CONFIG, JSON.valueToTree(r.config()));
        attributes.put(STATUS, r.status().name());
        attributes.put(REASON, r.reason());
        attributes.put(SECONDS, r.seconds());
        if (r.status() == TrialStatus.PRUNED) {
            // Its value in the study is its last reported loss, as Optuna's; its objective is the windowed loss the
            // pruner judged.
            attributes.put(OBJECTIVE, r.objective());
        }
        return attributes;
    }

    /**
     * The result of a finished trial (COMPLETE, FAIL or PRUNED), or null for one not finished. A trial without
     * attributes of ours (another program ran it, or its worker died) is read as the {@code known} candidate of its
     * label, or the list entry of its {@code idx} under {@code variant}; its status from its state, its time from its
     * start and end.
     *
     * @throws IllegalArgumentException if the trial's attributes are not what this code writes, naming the trial
     */
    static TrialResult result(StoredTrial t, ListVariant variant, Map<String, Candidate> known) {
        TrialStatus fromState = switch (t.state()) {
            case COMPLETE -> TrialStatus.OK;
            case FAIL -> TrialStatus.FAILED;
            case PRUNED -> TrialStatus.PRUNED;
            case WAITING, RUNNING -> null;
        };
        if (fromState == null) {
            return null;
        }
        Map<String, JsonNode> a = t.userAttributes();
        try {
            ListVariant ran = a.containsKey(VARIANT) ? ListVariant.valueOf(a.get(VARIANT).asText()) : variant;
            NAdamWConfig config;
            String label;
            int index = a.containsKey(INDEX) ? a.get(INDEX).asInt() : t.index() >= 0 ? t.index() : Candidate.CUSTOM;
            if (a.containsKey(CONFIG)) {
                config = JSON.treeToValue(a.get(CONFIG), NAdamWConfig.class);
                label = a.get(LABEL).asText();
            } else if (t.label() != null && known.containsKey(t.label())) {
                Candidate candidate = known.get(t.label());
                config = candidate.config();
                label = candidate.label();
                ran = candidate.variant();
                index = candidate.index();
            } else if (t.index() >= 0) {
                Candidate entry = Candidate.listEntry(t.index(), ran);
                config = entry.config();
                label = entry.label();
            } else {
                throw new IllegalArgumentException("it runs candidate '" + t.label() + "', which this search does"
                        + " not have, and records no configuration");
            }
            String name = a.containsKey(NAME) ? a.get(NAME).asText() : index >= 0 ? OptList.config(index).name()
                    : config.name();
            TrialStatus status = a.containsKey(STATUS) ? TrialStatus.valueOf(a.get(STATUS).asText()) : fromState;
            String reason = a.containsKey(REASON) ? a.get(REASON).asText()
                    : a.containsKey("fail_reason") ? a.get("fail_reason").asText() : "";
            double seconds = a.containsKey(SECONDS) ? a.get(SECONDS).asDouble()
                    : t.start() != null && t.complete() != null
                    ? Duration.between(t.start(), t.complete()).toMillis() / 1000.0 : 0;
            double objective = status == TrialStatus.OK && t.value() != null ? t.value()
                    : status == TrialStatus.PRUNED && a.containsKey(OBJECTIVE) ? a.get(OBJECTIVE).asDouble()
                    : Double.NaN;
            if (status == TrialStatus.OK && !Double.isFinite(objective)) {
                status = TrialStatus.FAILED;
                reason = "objective is " + objective;
            }
            List<TrialResult.LossPoint> curve = new ArrayList<>();
            t.intermediateValues().forEach((step, loss) -> curve.add(new TrialResult.LossPoint(step, loss)));
            return new TrialResult(label, index, name, ran, config, status, objective, reason, seconds, curve);
        } catch (JsonProcessingException | RuntimeException e) {
            throw new IllegalArgumentException("trial " + t.number() + " of the study holds attributes this code"
                    + " does not read: " + e.getMessage(), e);
        }
    }

    /**
     * The results of the finished trials of a study, the latest per candidate (a retried one's last outcome; none
     * while its retry waits or runs), by list index then label.
     */
    static List<TrialResult> latest(List<StoredTrial> trials, ListVariant variant, Map<String, Candidate> known) {
        Map<String, TrialResult> latest = new LinkedHashMap<>();
        for (StoredTrial t : trials) {
            TrialResult r = result(t, variant, known);
            String label = r != null ? r.label() : label(t, variant);
            latest.remove(label);
            if (r != null) {
                latest.put(label, r);
            }
        }
        List<TrialResult> results = new ArrayList<>(latest.values());
        results.sort(ResultsFile.BY_INDEX);
        return results;
    }

    /** The label of the candidate a trial runs, finished or not; null when it names none. */
    private static String label(StoredTrial t, ListVariant variant) {
        JsonNode recorded = t.userAttributes().get(LABEL);
        if (recorded != null) {
            return recorded.asText();
        }
        if (t.label() != null) {
            return t.label();
        }
        return t.index() >= 0 ? Candidate.listEntry(t.index(), variant).label() : null;
    }

    /** What a trial runs, recorded when it starts so that a trial whose worker dies still says so. */
    static Map<String, Object> candidateAttributes(Candidate c) {
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put(LABEL, c.label());
        attributes.put(INDEX, c.index());
        attributes.put(NAME, c.config().name());
        attributes.put(VARIANT, c.variant().name());
        attributes.put(CONFIG, JSON.valueToTree(c.config()));
        return attributes;
    }

    /**
     * Ends a running trial as {@code r} says: its loss curve as intermediate values, then COMPLETE with its
     * objective, PRUNED, or FAIL (failed or diverged), with {@link #resultAttributes}; a completed trial's
     * {@code recorded} values for the pruner (when not null) as attribute {@value #PRUNER_VALUES}.
     */
    static void record(OptunaStudy optuna, RunningTrial running, TrialResult r, PruningMonitor.Values recorded) {
        SortedMap<Integer, Double> curve = new TreeMap<>();
        for (TrialResult.LossPoint p : r.curve()) {
            // Optuna's step column is an integer.
            curve.put((int) Math.min(p.step(), Integer.MAX_VALUE), p.loss());
        }
        optuna.report(running, curve);
        Map<String, Object> attributes = resultAttributes(r);
        if (recorded != null && r.status() == TrialStatus.OK) {
            attributes.put(PRUNER_VALUES, prunerValuesAttribute(recorded));
        }
        switch (r.status()) {
            case OK -> optuna.complete(running, r.objective(), attributes);
            case PRUNED -> optuna.prune(running, attributes);
            case FAILED, DIVERGED -> optuna.fail(running, attributes);
        }
    }

    /** {@code values} as attribute {@value #PRUNER_VALUES}: {@code {"steps": [...], "values": [...]}}. */
    static Map<String, Object> prunerValuesAttribute(PruningMonitor.Values values) {
        long[] steps = new long[values.size()];
        double[] means = new double[values.size()];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = values.step(i);
            means[i] = values.value(i);
        }
        Map<String, Object> attribute = new LinkedHashMap<>();
        attribute.put("steps", steps);
        attribute.put("values", means);
        return attribute;
    }

    /**
     * The pruner's values a completed trial recorded as attribute {@value #PRUNER_VALUES}.
     *
     * @throws IllegalArgumentException if the attribute is not what {@link #prunerValuesAttribute} writes, naming the
     *                                  trial
     */
    static PruningMonitor.Values prunerValues(int trialId, JsonNode attribute) {
        JsonNode steps = attribute.get("steps");
        JsonNode values = attribute.get("values");
        if (steps == null || values == null || !steps.isArray() || !values.isArray()) {
            throw new IllegalArgumentException("trial id " + trialId + " of the study holds a " + PRUNER_VALUES
                    + " attribute this code does not read: " + attribute);
        }
        long[] s = new long[steps.size()];
        double[] v = new double[values.size()];
        for (int i = 0; i < s.length; i++) {
            // canConvertToLong: asLong would wrap an integer beyond the range of a long into another step.
            if (!steps.get(i).isIntegralNumber() || !steps.get(i).canConvertToLong()) {
                throw new IllegalArgumentException("trial id " + trialId + " of the study holds a step "
                        + steps.get(i) + " in " + PRUNER_VALUES + ", not an integer of 64 bits");
            }
            s[i] = steps.get(i).asLong();
        }
        for (int i = 0; i < v.length; i++) {
            if (!values.get(i).isNumber()) {
                throw new IllegalArgumentException("trial id " + trialId + " of the study holds a value "
                        + values.get(i) + " in " + PRUNER_VALUES + ", not a number");
            }
            v[i] = values.get(i).asDouble();
        }
        try {
            return PruningMonitor.Values.of(s, v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("trial id " + trialId + " of the study holds " + PRUNER_VALUES
                    + " this code does not read: " + e.getMessage(), e);
        }
    }
}
