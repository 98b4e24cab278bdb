package io.github.optlist.search;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.optlist.search.study.OptunaStudy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The COMPLETE trials of a study that a worker's pruner compares against, by trial id, whichever worker completed
 * them: those this process completes are added at once, those of other workers (or of an earlier run) are read from
 * the study by {@link #refresh}, which a worker calls before each trial and at each heartbeat. Every trial counts by
 * what the study records of it ({@link PruningMonitor#recordedValues}), so a worker's decisions do not depend on
 * which worker ran what. A trial completed without those values (by Python, or under no pruner) is left out.
 * Safe to use from several threads.
 */
final class CompletedTrials {

    private final Map<Integer, PruningMonitor.Values> byTrialId = new HashMap<>();
    private volatile List<PruningMonitor.Values> values = List.of();

    /** The values of every completed trial known so far, in no particular order; a snapshot. */
    List<PruningMonitor.Values> values() {
        return values;
    }

    /** Adds the values of trial {@code trialId}, unless already known. */
    synchronized void add(int trialId, PruningMonitor.Values recorded) {
        if (byTrialId.putIfAbsent(trialId, recorded) == null) {
            values = List.copyOf(byTrialId.values());
        }
    }

    /**
     * Reads from {@code study} the values of the completed trials not yet known.
     *
     * @throws IllegalArgumentException if a trial's recorded values are not what this code writes, naming it; the
     *                                  trials read before it are kept
     */
    void refresh(OptunaStudy study) {
        Set<Integer> known;
        synchronized (this) {
            known = Set.copyOf(byTrialId.keySet());
        }
        Map<Integer, JsonNode> fresh = study.completedUserAttribute(StudyTrials.PRUNER_VALUES, known);
        for (Map.Entry<Integer, JsonNode> e : fresh.entrySet()) {
            add(e.getKey(), StudyTrials.prunerValues(e.getKey(), e.getValue()));
        }
    }
}
