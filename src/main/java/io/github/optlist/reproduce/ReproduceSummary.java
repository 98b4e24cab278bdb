package io.github.optlist.reproduce;

import io.github.optlist.reproduce.ReproduceResult.BestOfK;
import io.github.optlist.reproduce.ReproduceResult.Method;
import io.github.optlist.reproduce.ReproduceResult.Row;
import io.github.optlist.reproduce.ReproduceResult.TaskScores;
import io.github.optlist.ListVariant;
import io.github.optlist.search.TrialStatus;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Writes {@code summary.md}: every verdict computed from the figures of the run, then the figures, then how they
 * were obtained and what they can show.
 */
final class ReproduceSummary {

    private ReproduceSummary() {
    }

    static String markdown(ReproduceResult result, Protocol protocol) {
        StringBuilder md = new StringBuilder();
        ReproduceSettings s = result.settings();
        List<TaskScores> scored = result.tasks().stream().filter(TaskScores::scored).toList();
        md.append("# opt-list reproduce: the list against random search and Adam\n\n");
        if (s.shortRuns()) {
            md.append("**Short runs (").append(s.steps()).append(" steps per trial, e.g. `--quick`): this checks the"
                    + " plumbing. The figures below say nothing about the list.**\n\n");
        }
        long reused = protocol.slots().stream().filter(x -> !x.reusedFrom().isEmpty()).count();
        md.append(String.format(Locale.ROOT, "%d task(s): %s. Per task %d trials: 1 at learning rate 0 (for L0),"
                        + " list entries 0-%d under TASKSET, the same under TORCH_PORT (%d trained, %d identical to"
                        + " TASKSET and reused), a random-search pool of %d entries drawn from indices 10..999"
                        + " (pool seed %d) under TASKSET, and Adam at learning rates %s. Trial seed %d.%n%n",
                result.tasks().size(), result.tasks().stream().map(t -> "`" + t.task() + "` (" + t.steps()
                        + " steps)").collect(Collectors.joining(", ")), protocol.planned().size(), Reproduce.K - 1,
                Reproduce.K - reused, reused, s.poolSize(), s.poolSeed(), String.join(", ", Protocol.ADAM_GRID),
                s.seed()));
        result.tasks().stream().filter(t -> !t.note().isEmpty())
                .forEach(t -> md.append("- `").append(t.task()).append("`: ").append(t.note()).append('\n'));
        BestOfK mean = result.mean();
        if (mean == null) {
            md.append("\nNo task could be scored, so there is no verdict.\n");
            return md.toString();
        }
        md.append("\n## Verdicts\n\nScores are in [0, 1], lower is better (0: the best held-out loss of the run, 1:"
                + " no better than the initialization, or failed). Each line is computed from the tables below.\n\n");
        for (ListVariant v : ListVariant.values()) {
            List<Integer> trailing = mean.kWhereListTrailsRandom(v);
            md.append(trailing.isEmpty()
                    ? String.format(Locale.ROOT, "- **(A) held, %s:** the list's mean best-of-k was at most random"
                    + " search's expected mean best-of-k at every k = 1..%d.%n", v, Reproduce.K)
                    : String.format(Locale.ROOT, "- **(A) did not hold, %s:** the list's mean best-of-k was above"
                    + " random search's expected mean best-of-k at k = %s (of 1..%d).%n", v, trailing.stream()
                    .map(String::valueOf).collect(Collectors.joining(", ")), Reproduce.K));
        }
        for (ListVariant v : ListVariant.values()) {
            double list3 = mean.list(v, 3);
            double random10 = mean.randomExpected().get(Reproduce.K - 1);
            md.append(String.format(Locale.ROOT, "- **(B) %s, %s:** the list's mean best-of-3, %.3f, is %s random"
                            + " search's expected mean best-of-10, %.3f.%n", list3 <= random10 ? "held"
                            : "did not hold", v, list3, list3 <= random10 ? "at most" : "above", random10));
        }
        for (int k : new int[]{3, Reproduce.K}) {
            List<String> wins = scored.stream().filter(t -> t.bestOfK().list(ListVariant.TASKSET, k)
                    <= t.bestOfK().randomExpected().get(k - 1)).map(TaskScores::task).toList();
            List<String> losses = scored.stream().map(TaskScores::task).filter(n -> !wins.contains(n)).toList();
            md.append(String.format(Locale.ROOT, "- **(C) per task, TASKSET, best-of-%d:** the list was at most"
                            + " random search's expected best-of-%d on %d of %d tasks%s%s.%n", k, k, wins.size(),
                    scored.size(), wins.isEmpty() ? "" : " (" + String.join(", ", wins) + ")",
                    losses.isEmpty() ? "" : "; above it on " + String.join(", ", losses)));
        }
        int reachAdam = mean.firstKReaching(ListVariant.TASKSET, mean.adamDefault());
        md.append(String.format(Locale.ROOT, "- **Adam lr 1e-3:** mean score %.3f. The list (TASKSET) %s.%n",
                mean.adamDefault(), reachAdam < 0 ? "did not reach it within " + Reproduce.K + " trials"
                        : "reached it at best-of-" + reachAdam));
        int reachGrid = mean.firstKReaching(ListVariant.TASKSET, mean.adamGrid());
        double list5 = mean.list(ListVariant.TASKSET, Protocol.ADAM_GRID.size());
        md.append(String.format(Locale.ROOT, "- **Adam grid (%d trials):** mean best-of-grid %.3f."
                        + " The list's best-of-%d (the same budget) is %.3f, %s; the list %s.%n",
                Protocol.ADAM_GRID.size(),
                mean.adamGrid(), Protocol.ADAM_GRID.size(), list5, list5 <= mean.adamGrid() ? "at most the grid's"
                        : "above the grid's", reachGrid < 0 ? "did not reach the grid's score within " + Reproduce.K
                        + " trials" : "reached it at best-of-" + reachGrid));
        double taskset10 = mean.list(ListVariant.TASKSET, Reproduce.K);
        double torch10 = mean.list(ListVariant.TORCH_PORT, Reproduce.K);
        md.append(String.format(Locale.ROOT, "- **Variants:** mean best-of-%d %.3f under TASKSET, %.3f under"
                        + " TORCH_PORT (%s).%n", Reproduce.K, taskset10, torch10, taskset10 == torch10 ? "equal"
                        : (taskset10 < torch10 ? "TASKSET lower" : "TORCH_PORT lower")));

        md.append("\n## Mean best-of-k over the scored tasks\n\n");
        md.append("| k | list, TASKSET | list, TORCH_PORT | random search, expected | random 10 % | random 90 % |\n");
        md.append("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (int k = 1; k <= Reproduce.K; k++) {
            md.append(String.format(Locale.ROOT, "| %d | %.3f | %.3f | %.3f | %.3f | %.3f |%n", k,
                    mean.list(ListVariant.TASKSET, k), mean.list(ListVariant.TORCH_PORT, k),
                    mean.randomExpected().get(k - 1), mean.random10().get(k - 1), mean.random90().get(k - 1)));
        }
        md.append(String.format(Locale.ROOT, "%nAdam lr 1e-3: %.3f. Best of the Adam grid: %.3f.%n",
                mean.adamDefault(), mean.adamGrid()));

        md.append("\n## Per task\n\n");
        md.append("| task | steps | L0 | L* | list TASKSET best-of-1 / 3 / 10 | list TORCH_PORT best-of-1 / 3 / 10 |"
                + " random expected best-of-1 / 3 / 10 | Adam 1e-3 | best of grid |\n");
        md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (TaskScores t : result.tasks()) {
            if (!t.scored()) {
                md.append(String.format(Locale.ROOT, "| %s | %d | - | - | not scored | | | | |%n", t.task(),
                        t.steps()));
                continue;
            }
            BestOfK b = t.bestOfK();
            md.append(String.format(Locale.ROOT, "| %s | %d | %.4g | %.4g | %s | %s | %s | %.3f | %.3f |%n",
                    t.task(), t.steps(), t.initialLoss(), t.bestLoss(), triple(b.list(ListVariant.TASKSET)),
                    triple(b.list(ListVariant.TORCH_PORT)), triple(b.randomExpected()), b.adamDefault(),
                    b.adamGrid()));
        }

        md.append("\nTrials that failed or diverged (each scores 1), over all tasks: ");
        md.append(java.util.Arrays.stream(Method.values()).map(m -> {
            List<Row> trained = result.trials().stream()
                    .filter(r -> r.method() == m && r.reusedFrom().isEmpty()).toList();
            long bad = trained.stream().filter(r -> r.trial().status() != TrialStatus.OK).count();
            return m + " " + bad + " of " + trained.size();
        }).collect(Collectors.joining(", "))).append(".\n");
        md.append("\n## How the figures were obtained\n\n");
        md.append("- Every trial of a task uses the same seed: the same initialization, data and batch order; only"
                + " the optimizer's configuration differs.\n");
        md.append("- **L0** is measured, not assumed: a trial of the task with learning rate 0 (an Adam"
                + " configuration whose update is scaled by 0, so the parameters never move); its held-out loss is the"
                + " loss at initialization.\n");
        md.append("- **L\\*** is the lowest held-out loss any method reached on the task in this run."
                + " A trial's score is `clip((L - L*) / (L0 - L*), 0, 1)`; a failed, diverged or non-finite trial"
                + " scores 1.\n");
        md.append("- The list's best-of-k is the lowest score among entries 0..k-1. Random search's best-of-k is the"
                + " exact expectation over the pool of drawing k entries without replacement: with the pool's scores"
                + " sorted s(1) <= ... <= s(n), P(min = s(i)) = C(n-i, k-1) / C(n, k). Its 10 % / 90 % band on a"
                + " task are quantiles of that distribution; for the mean over tasks, quantiles of "
                + Scoring.MEAN_SPREAD_DRAWS + " fixed-seed Monte Carlo draws, each task drawing its k entries"
                + " independently (the expectation of the mean is exact).\n");
        md.append("- Adam is the custom configuration betas 0.9/0.999, epsilon 1e-8, no Nesterov, no decay, no"
                + " warm-up, bias correction on. Its epsilon is \"epsilon hat\": added to sqrt(v) with the bias"
                + " correction folded into the step size, where `torch.optim.Adam` adds it to the bias-corrected"
                + " sqrt(v_hat); the two differ only where sqrt(v) is of the order of 1e-8.\n");
        md.append("- A list entry that runs the same update under TASKSET and TORCH_PORT (no Nesterov, and no"
                + " warm-up or a warm-up fraction equal to its constant fraction) is trained once; `trials.csv` marks"
                + " the reused row in `reusedFrom`.\n");
        md.append("\n## What this can and cannot show\n\n");
        md.append("Small, cheap tasks at one seed and one training length: they can show whether trying the list in"
                + " order beats random search in the same space and a default or tuned Adam *on these tasks*. They"
                + " cannot show that it does on large models, longer training, or other seeds, and L* is only the"
                + " best of this run's methods, not the best loss the task admits.\n");
        return md.toString();
    }

    private static String triple(List<Double> curve) {
        return String.format(Locale.ROOT, "%.3f / %.3f / %.3f", curve.get(0), curve.get(2), curve.get(Reproduce.K - 1));
    }
}
