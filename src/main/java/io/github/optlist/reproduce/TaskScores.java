package io.github.optlist.reproduce;

import java.util.List;

/**
 * One task's outcome in the protocol.
 *
 * @param task        the task's name
 * @param steps       the training length its trials ran
 * @param initialLoss {@code L0}: the held-out loss of the initialization (the learning-rate-0 trial); NaN if that
 *                    trial failed, and then the task is not scored
 * @param bestLoss    {@code L*}: the lowest held-out loss any method reached; NaN if none succeeded
 * @param note        why the task is not scored or what is unusual about it; empty otherwise
 * @param bestOfK     the best-of-k scores; null when the task is not scored
 * @param poolScores  the random-search pool's scores, in draw order; empty when not scored
 */
public record TaskScores(String task, long steps, double initialLoss, double bestLoss, String note, BestOfK bestOfK,
                         List<Double> poolScores) {

    /** Copies the pool scores. */
    public TaskScores {
        poolScores = List.copyOf(poolScores);
    }

    /** Whether the task has scores: its initialization trial measured a finite {@code L0}. */
    public boolean scored() {
        return bestOfK != null;
    }
}
