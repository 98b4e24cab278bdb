package io.github.optlist.reproduce;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.github.optlist.search.TrialRow;

/**
 * One trial of the protocol in {@code trials.csv} and {@code trials.jsonl}: the task, the method, the score, then
 * the trial and the configuration that ran (as {@link TrialRow}).
 *
 * @param task       the task's name
 * @param method     what the trial stands for
 * @param rank       list index for the list, draw order for the pool, grid position for Adam, 0 for the init
 * @param score      {@code clip((L - L*) / (L0 - L*), 0, 1)}; 1 when failed or diverged; NaN for the init trial
 *                   and on a task that is not scored
 * @param reusedFrom the label of the trial that serves this row when a list entry runs the same under both
 *                   variants and was trained once; empty otherwise
 * @param trial      the trial
 */
@JsonPropertyOrder({"task", "method", "rank", "score", "reusedFrom"})
public record ReproduceRow(String task, Method method, int rank, double score, String reusedFrom,
                           @JsonUnwrapped TrialRow trial) {
}
