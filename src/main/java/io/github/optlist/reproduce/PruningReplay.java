package io.github.optlist.reproduce;

import io.github.optlist.search.SearchSettings;
import io.github.optlist.search.TrialContext;
import io.github.optlist.search.PrunerSettings;
import io.github.optlist.search.PruningMonitor;
import io.github.optlist.search.TrialStatus;

import java.util.ArrayList;
import java.util.List;

/**
 * Pruning simulated on full runs: the recorded curves of trials that all trained to their end are replayed, in list
 * order, through the search's own {@link PruningMonitor} (the windowed loss and its median pruner), exactly as a
 * search with that pruner would have fed them, each trial's reports seen against the
 * trials completed before it. One set of full runs thus serves both the search without pruning and with it. A pure
 * function of its inputs.
 */
final class PruningReplay {

    private PruningReplay() {
    }

    /**
     * One full run as recorded.
     *
     * @param label     the trial's label
     * @param status    how it ended without pruning
     * @param objective its held-out loss (NaN unless OK)
     * @param steps     the steps it reported, in order
     * @param losses    the losses it reported there
     */
    record Recorded(String label, TrialStatus status, double objective, long[] steps, double[] losses) {

        /** Refuses nulls and arrays of different lengths. */
        Recorded {
            if (label == null || status == null || steps == null || losses == null || steps.length != losses.length) {
                throw new IllegalArgumentException("label, status, steps and losses must be given, the arrays of"
                        + " one length");
            }
        }

        /** The last step reported, or -1 without any. */
        long lastStep() {
            return steps.length == 0 ? -1 : steps[steps.length - 1];
        }
    }

    /**
     * One trial as the search with the pruner would have ended it.
     *
     * @param status     its recorded status, or PRUNED
     * @param objective  its held-out loss when it still trained to the end, else NaN
     * @param prunedStep the step it was pruned at, or -1
     * @param cost       the steps it trained ({@link SearchSettings.Budget#cost})
     */
    record Replayed(TrialStatus status, double objective, long prunedStep, long cost) {
    }

    /** The trials of {@code recorded}, in that (list) order, as a search with {@code pruner} would have ended them. */
    static List<Replayed> replay(List<Recorded> recorded, long trainingSteps, PrunerSettings pruner) {
        List<PruningMonitor.Values> completed = new ArrayList<>();
        List<Replayed> out = new ArrayList<>(recorded.size());
        for (Recorded r : recorded) {
            PruningMonitor monitor = new PruningMonitor(pruner, trainingSteps, () -> completed);
            // A diverged run's last report broke the divergence rule, which the search checks before the pruner.
            int fed = r.status() == TrialStatus.DIVERGED ? r.steps().length - 1 : r.steps().length;
            Replayed result = null;
            for (int i = 0; i < fed && result == null; i++) {
                try {
                    monitor.report(r.steps()[i], r.losses()[i]);
                } catch (TrialContext.PrunedException e) {
                    result = new Replayed(TrialStatus.PRUNED, Double.NaN, e.step(),
                            SearchSettings.Budget.cost(TrialStatus.PRUNED, e.step(), trainingSteps));
                }
            }
            if (result == null) {
                result = new Replayed(r.status(), r.status() == TrialStatus.OK ? r.objective() : Double.NaN, -1,
                        SearchSettings.Budget.cost(r.status(), r.lastStep(), trainingSteps));
                if (r.status() == TrialStatus.OK) {
                    completed.add(monitor.recordedValues());
                }
            }
            out.add(result);
        }
        return out;
    }

    /**
     * The lowest objective among the first {@code k} trials that trained to the end (NaN when none did), and the
     * steps those {@code k} trials cost.
     *
     * @param best  the lowest held-out loss, or NaN
     * @param steps the steps spent
     * @param tried how many trials started
     */
    record Outcome(double best, long steps, int tried) {
    }

    /** The best of the first {@code k} trials of {@code trials} (all of them if there are fewer). */
    static Outcome bestOf(List<Replayed> trials, int k) {
        double best = Double.NaN;
        long steps = 0;
        int n = Math.min(k, trials.size());
        for (int i = 0; i < n; i++) {
            Replayed t = trials.get(i);
            steps += t.cost();
            if (t.status() == TrialStatus.OK && !(t.objective() >= best)) {
                best = t.objective();
            }
        }
        return new Outcome(best, steps, n);
    }

    /**
     * The best a search reaches going down {@code trials} in order within {@code budget}: it starts a trial while
     * {@link SearchSettings.Budget#mayStart} allows, so the last one may end past the budget; {@code tried} tells
     * how far down the list it got (all of {@code trials} when the budget outlasts them).
     */
    static Outcome withinBudget(List<Replayed> trials, SearchSettings.Budget budget, long trainingSteps) {
        double best = Double.NaN;
        long steps = 0;
        int tried = 0;
        for (Replayed t : trials) {
            if (!budget.mayStart(steps, trainingSteps)) {
                break;
            }
            tried++;
            steps += t.cost();
            if (t.status() == TrialStatus.OK && !(t.objective() >= best)) {
                best = t.objective();
            }
        }
        return new Outcome(best, steps, tried);
    }
}
