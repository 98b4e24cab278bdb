package io.github.optlist.search;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Every trial of a search, sorted by list index, and where its files are.
 *
 * @param task      the task the trials ran on
 * @param direction whether lower or higher objectives are better
 * @param trials    the results, sorted by list index
 * @param files     the files written: results table, results lines, and the plot when one was drawn
 */
public record SearchResult(String task, Direction direction, List<TrialResult> trials, List<Path> files) {

    /** Refuses nulls; copies the lists. */
    public SearchResult {
        if (task == null || direction == null) {
            throw new IllegalArgumentException("task and direction must not be null");
        }
        trials = List.copyOf(trials);
        files = List.copyOf(files);
    }

    /** The best OK trial (the lowest list index among equals), or empty when none succeeded. */
    public Optional<TrialResult> best() {
        TrialResult best = null;
        for (TrialResult t : trials) {
            if (t.ok() && (best == null || direction.isBetter(t.objective(), best.objective()))) {
                best = t;
            }
        }
        return Optional.ofNullable(best);
    }

    /** The {@code n} best OK trials, best first. */
    public List<TrialResult> bestTrials(int n) {
        Comparator<TrialResult> byObjective = Comparator.comparingDouble(TrialResult::objective);
        if (direction == Direction.MAXIMIZE) {
            byObjective = byObjective.reversed();
        }
        return trials.stream().filter(TrialResult::ok).sorted(byObjective).limit(n).toList();
    }

    /** The best objective among the first {@code k + 1} trials in list order, for each k; NaN before any success. */
    public List<Double> bestSoFar() {
        List<Double> out = new ArrayList<>(trials.size());
        double best = Double.NaN;
        for (TrialResult t : trials) {
            if (t.ok() && (Double.isNaN(best) || direction.isBetter(t.objective(), best))) {
                best = t.objective();
            }
            out.add(best);
        }
        return out;
    }
}
