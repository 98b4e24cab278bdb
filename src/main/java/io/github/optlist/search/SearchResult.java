package io.github.optlist.search;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Every trial of a search, sorted by list index, and where its files are.
 *
 * @param header the settings the results were obtained with
 * @param trials the results, sorted by list index
 * @param files  the files written: results table, results lines, and the plot when one was drawn
 */
public record SearchResult(ResultsHeader header, List<TrialResult> trials, List<Path> files) {

    /** Copies the lists. */
    public SearchResult {
        trials = List.copyOf(trials);
        files = List.copyOf(files);
    }

    /** The best OK trial (the lowest list index among equals), or empty when none succeeded. */
    public Optional<TrialResult> best() {
        TrialResult best = null;
        for (TrialResult t : trials) {
            if (t.ok() && (best == null || header.direction().isBetter(t.objective(), best.objective()))) {
                best = t;
            }
        }
        return Optional.ofNullable(best);
    }

    /** The {@code n} best OK trials, best first. */
    public List<TrialResult> bestTrials(int n) {
        Comparator<TrialResult> byObjective = Comparator.comparingDouble(TrialResult::objective);
        if (header.direction() == Direction.MAXIMIZE) {
            byObjective = byObjective.reversed();
        }
        return trials.stream().filter(TrialResult::ok).sorted(byObjective).limit(n).toList();
    }

    /** The best objective among the first {@code k + 1} trials in list order, for each k; NaN before any success. */
    public List<Double> bestSoFar() {
        List<Double> out = new ArrayList<>(trials.size());
        double best = Double.NaN;
        for (TrialResult t : trials) {
            if (t.ok() && (Double.isNaN(best) || header.direction().isBetter(t.objective(), best))) {
                best = t.objective();
            }
            out.add(best);
        }
        return out;
    }
}
