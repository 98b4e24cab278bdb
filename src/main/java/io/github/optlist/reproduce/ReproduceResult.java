package io.github.optlist.reproduce;

import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link Reproduce} run measured, and where its files are.
 *
 * @param settings the settings it ran with
 * @param tasks    every task's scores, in the order run
 * @param mean     the best-of-k curves averaged over the scored tasks; null when no task is scored
 * @param trials   every trial of every task, as in {@code trials.csv}
 * @param files    the files written: {@code summary.md}, {@code reproduce.png}, {@code trials.csv},
 *                 {@code trials.jsonl}, then with the pruning study {@code pruning.md} and {@code pruning.csv}
 */
public record ReproduceResult(ReproduceSettings settings, List<TaskScores> tasks, BestOfK mean,
                              List<ReproduceRow> trials, List<Path> files) {

    /** Copies the lists. */
    public ReproduceResult {
        tasks = List.copyOf(tasks);
        trials = List.copyOf(trials);
        files = List.copyOf(files);
    }
}
