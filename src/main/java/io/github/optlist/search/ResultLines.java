package io.github.optlist.search;

import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;

import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * The checks of a results file's lines beyond their syntax ({@link ResultsFile#read}): a line that contradicts
 * itself or the list, and, on an import, a trial that ran other than the search runs it.
 */
final class ResultLines {

    private ResultLines() {
    }

    /**
     * Refuses, naming {@code folder}, a result of one of {@code settings}' candidates that ran other than the search
     * runs it (another index, variant or configuration under the same label): importing it would give the study a
     * trial of another candidate under this one's label.
     */
    static void requireSameTrials(Path folder, Collection<TrialResult> results, SearchSettings settings) {
        Map<String, Candidate> trials = new HashMap<>();
        settings.allCandidates().forEach(c -> trials.put(c.label(), c));
        for (TrialResult result : results) {
            Candidate candidate = trials.get(result.label());
            String differences = candidate == null ? "" : differences(result, candidate);
            if (!differences.isEmpty()) {
                throw new IllegalArgumentException(folder + " holds trial " + result.label() + " other than this"
                        + " search runs it (" + differences + "): search with the same candidates, or write to"
                        + " another folder");
            }
        }
    }

    /** How a result differs from the trial of {@code candidate}, as {@code field line's vs search's}. */
    private static String differences(TrialResult result, Candidate candidate) {
        StringBuilder out = new StringBuilder();
        if (result.index() != candidate.index()) {
            out.append("index ").append(result.index()).append(" vs ").append(candidate.index());
        }
        if (result.variant() != candidate.variant()) {
            out.append(out.isEmpty() ? "" : ", ").append("variant ").append(result.variant()).append(" vs ")
                    .append(candidate.variant());
        }
        String config = configDifferences(result.config(), candidate.config());
        if (!config.isEmpty()) {
            out.append(out.isEmpty() ? "" : ", ").append("configuration ").append(config);
        }
        return out.toString();
    }

    /** The fields in which two configurations differ, as {@code learningRate 0.5 vs 0.01}; empty when equal. */
    private static String configDifferences(NAdamWConfig mine, NAdamWConfig theirs) {
        StringBuilder out = new StringBuilder();
        for (RecordComponent field : NAdamWConfig.class.getRecordComponents()) {
            Object a;
            Object b;
            try {
                a = field.getAccessor().invoke(mine);
                b = field.getAccessor().invoke(theirs);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read NAdamWConfig." + field.getName(), e);
            }
            if (!a.equals(b)) {
                out.append(out.isEmpty() ? "" : ", ").append(field.getName()).append(' ').append(a).append(" vs ")
                        .append(b);
            }
        }
        return out.toString();
    }

    /**
     * What makes {@code r} contradict itself or the list, or null: an index that is neither a list index nor
     * {@link Candidate#CUSTOM}, a list entry's label on another trial, a name other than its configuration's, a list
     * entry's configuration other than the list's under its variant.
     */
    static String contradiction(TrialResult r) {
        if (r.index() != Candidate.CUSTOM && (r.index() < 0 || r.index() >= OptList.size())) {
            return "contradicts itself (index " + r.index() + " is neither a list index, in [0, " + OptList.size()
                    + "), nor " + Candidate.CUSTOM + " for a custom configuration)";
        }
        String label = Candidate.labelContradiction(r.label(), r.index(), r.variant());
        if (label != null) {
            return "contradicts itself (" + label + ")";
        }
        if (!r.name().equals(r.config().name())) {
            return "contradicts itself (name " + r.name() + " vs its configuration's " + r.config().name() + ")";
        }
        if (r.index() != Candidate.CUSTOM) {
            String differences = configDifferences(r.config(), OptList.config(r.index(), r.variant()));
            if (!differences.isEmpty()) {
                return "contradicts the list (trial " + r.label() + " says it ran list entry " + r.index() + " under "
                        + r.variant() + ", whose configuration differs: " + differences + ")";
            }
        }
        return null;
    }
}
