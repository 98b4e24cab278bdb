package io.github.optlist.reproduce;

import io.github.optlist.search.TrialStatus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Writes the pruning study's {@code pruning.md} and {@code pruning.csv} from the replayed cells. Ratios compare
 * held-out losses, pruned over unpruned (below 1: better), as geometric means over seeds; a seed where neither
 * search completed a trial among those compared has no ratio and is left out.
 */
final class PruningTable {

    /** The goal for best-of-10 with pruning: at most this times the unpruned one, on every task. */
    static final double BEST_OF_10_GOAL = 1.02;

    /** The goal for the best within the budget: at most this times the unpruned best-of-10, as a geomean. */
    static final double BUDGET_GOAL = 0.85;

    private PruningTable() {
    }

    /** Pruned best-of-k over unpruned best-of-k, or NaN when either is undefined. */
    static double ratio(PruningStudy.Cell c, int k) {
        double pruned = PruningReplay.bestOf(c.pruned(), k).best();
        double full = PruningReplay.bestOf(c.unpruned(), k).best();
        return pruned / full;
    }

    /** The best within the budget with pruning over the unpruned best-of-10, or NaN when either is undefined. */
    static double budgetRatio(PruningStudy.Cell c) {
        double budget = PruningReplay.withinBudget(c.pruned(), PruningStudy.BUDGET, c.steps()).best();
        return budget / PruningReplay.bestOf(c.unpruned(), 10).best();
    }

    /** The geometric mean of the finite positive values, NaN without any. */
    static double geomean(List<Double> values) {
        double sum = 0;
        int n = 0;
        for (double v : values) {
            if (Double.isFinite(v) && v > 0) {
                sum += Math.log(v);
                n++;
            }
        }
        return n == 0 ? Double.NaN : Math.exp(sum / n);
    }

    /** Steps the pruned search spent over the unpruned one's, over the first k trials of every cell. */
    static double stepShare(List<PruningStudy.Cell> cells, int k) {
        long pruned = 0;
        long full = 0;
        for (PruningStudy.Cell c : cells) {
            pruned += PruningReplay.bestOf(c.pruned(), k).steps();
            full += PruningReplay.bestOf(c.unpruned(), k).steps();
        }
        return (double) pruned / full;
    }

    static String markdown(List<PruningStudy.Cell> cells, ReproduceSettings settings) {
        Map<String, List<PruningStudy.Cell>> byTask = new LinkedHashMap<>();
        cells.forEach(c -> byTask.computeIfAbsent(c.task(), t -> new ArrayList<>()).add(c));
        StringBuilder md = new StringBuilder("# opt-list reproduce: pruning and a compute budget\n\n");
        if (settings.shortRuns()) {
            md.append("**Short runs (").append(settings.steps()).append(" steps per trial, e.g. `--quick`): this"
                    + " checks the plumbing. The figures below say nothing about pruning.**\n\n");
        }
        md.append(String.format(Locale.ROOT, "List entries 0-%d under TASKSET, trained to their end on %d task(s)"
                        + " at %d seed(s) each (%s), then replayed in list order through the search's median pruner"
                        + " (5 startup trials, warm-up 10 %% of the steps, interval 1, loss averaged over a window of"
                        + " 5 %% of the steps). Ratios: held-out loss with pruning over without (below 1: better),"
                        + " geometric mean over the seeds. Steps: what the pruned search trained, as a share of the"
                        + " unpruned one's. Budget: %d full trials' steps, going down the list with pruning.%n%n",
                PruningStudy.ENTRIES - 1, byTask.size(), settings.pruningSeeds(),
                PruningStudy.seeds(settings).stream().map(String::valueOf).collect(Collectors.joining(", ")),
                PruningStudy.BUDGET.fullTrials()));
        appendVerdicts(md, byTask, cells);
        md.append("\n| task | steps | best-of-3 | best-of-5 | best-of-10 | best-of-30 | steps over 10 | steps over 30"
                + " | budget: entries | budget: steps (full trials) | budget: best / unpruned best-of-10"
                + " | entry " + PruningStudy.LATE_BLOOMER + " |\n");
        md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for (Map.Entry<String, List<PruningStudy.Cell>> e : byTask.entrySet()) {
            appendRow(md, e.getKey(), String.valueOf(e.getValue().get(0).steps()), e.getValue());
        }
        appendRow(md, "**all**", "", cells);
        return md.toString();
    }

    private static void appendVerdicts(StringBuilder md, Map<String, List<PruningStudy.Cell>> byTask,
                                       List<PruningStudy.Cell> cells) {
        List<String> missed = new ArrayList<>();
        double worst = Double.NaN;
        for (Map.Entry<String, List<PruningStudy.Cell>> e : byTask.entrySet()) {
            double r = geomean(e.getValue().stream().map(c -> ratio(c, 10)).toList());
            if (r > BEST_OF_10_GOAL) {
                missed.add(String.format(Locale.ROOT, "`%s` %.3fx", e.getKey(), r));
            }
            worst = Double.isNaN(worst) || r > worst ? r : worst;
        }
        md.append(missed.isEmpty()
                ? String.format(Locale.ROOT, "- **Best-of-10 kept (goal: at most %.2fx on every task): held**, worst"
                + " task %.3fx.%n", BEST_OF_10_GOAL, worst)
                : String.format(Locale.ROOT, "- **Best-of-10 kept (goal: at most %.2fx on every task): missed** on"
                + " %s.%n", BEST_OF_10_GOAL, String.join(", ", missed)));
        double budget = geomean(cells.stream().map(PruningTable::budgetRatio).toList());
        md.append(String.format(Locale.ROOT, "- **Budget of %d full trials with pruning (goal: at most %.2fx the"
                        + " unpruned best-of-10, geomean): %s**, %.3fx.%n", PruningStudy.BUDGET.fullTrials(),
                BUDGET_GOAL, budget <= BUDGET_GOAL ? "held" : "missed", budget));
        for (int k : PruningStudy.KS) {
            List<Double> ratios = cells.stream().map(c -> ratio(c, k)).toList();
            double max = ratios.stream().filter(Double::isFinite).mapToDouble(Double::doubleValue).max()
                    .orElse(Double.NaN);
            md.append(String.format(Locale.ROOT, "- best-of-%d with pruning: geomean %.3fx, worst task and seed"
                    + " %.3fx, for %.0f %% of the steps.%n", k, geomean(ratios), max, 100 * stepShare(cells, k)));
        }
    }

    private static void appendRow(StringBuilder md, String task, String steps, List<PruningStudy.Cell> cells) {
        md.append("| ").append(task).append(" | ").append(steps);
        for (int k : PruningStudy.KS) {
            md.append(String.format(Locale.ROOT, " | %.3f", geomean(cells.stream().map(c -> ratio(c, k)).toList())));
        }
        md.append(String.format(Locale.ROOT, " | %.0f %% | %.0f %%", 100 * stepShare(cells, 10),
                100 * stepShare(cells, 30)));
        double entries = 0;
        double spent = 0;
        for (PruningStudy.Cell c : cells) {
            PruningReplay.Outcome o = PruningReplay.withinBudget(c.pruned(), PruningStudy.BUDGET, c.steps());
            entries += o.tried();
            spent += (double) o.steps() / c.steps();
        }
        md.append(String.format(Locale.ROOT, " | %.1f | %.1f | %.3f | %s |%n", entries / cells.size(),
                spent / cells.size(), geomean(cells.stream().map(PruningTable::budgetRatio).toList()),
                lateBloomer(cells)));
    }

    /** What the pruner did to the late bloomer: on how many seeds it was pruned, where, and whether it was best. */
    static String lateBloomer(List<PruningStudy.Cell> cells) {
        int pruned = 0;
        int best = 0;
        int bestPruned = 0;
        List<String> at = new ArrayList<>();
        int e = PruningStudy.LATE_BLOOMER;
        for (PruningStudy.Cell c : cells) {
            if (c.pruned().size() <= e) {
                continue;
            }
            PruningReplay.Replayed r = c.pruned().get(e);
            boolean isBest = c.unpruned().get(e).status() == TrialStatus.OK
                    && c.unpruned().get(e).objective() == PruningReplay.bestOf(c.unpruned(), 10).best();
            best += isBest ? 1 : 0;
            if (r.status() == TrialStatus.PRUNED) {
                pruned++;
                bestPruned += isBest ? 1 : 0;
                at.add(String.format(Locale.ROOT, "%.0f", 100.0 * r.prunedStep() / c.steps()));
            }
        }
        return String.format(Locale.ROOT, "pruned %d/%d%s; best of 10 on %d, of them pruned %d", pruned, cells.size(),
                at.isEmpty() ? "" : " (at " + String.join(", ", at) + " %)", best, bestPruned);
    }

    static String csv(List<PruningStudy.Cell> cells) {
        StringBuilder out = new StringBuilder(
                "task,seed,label,status,objective,prunedStatus,prunedStep,stepsTrained\n");
        for (PruningStudy.Cell c : cells) {
            for (int i = 0; i < c.recorded().size(); i++) {
                PruningReplay.Recorded r = c.recorded().get(i);
                PruningReplay.Replayed p = c.pruned().get(i);
                out.append(String.format(Locale.ROOT, "%s,%d,%s,%s,%s,%s,%d,%d%n", c.task(), c.seed(), r.label(),
                        r.status(), r.objective(), p.status(), p.prunedStep(), p.cost()));
            }
        }
        return out.toString();
    }
}
