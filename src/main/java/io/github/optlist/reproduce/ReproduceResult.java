package io.github.optlist.reproduce;

import io.github.optlist.search.TrialResult;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.github.optlist.ListVariant;

import java.nio.file.Path;
import java.util.ArrayList;
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
                              List<Row> trials, List<Path> files) {

    /** Copies the lists. */
    public ReproduceResult {
        tasks = List.copyOf(tasks);
        trials = List.copyOf(trials);
        files = List.copyOf(files);
    }

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
    public record TaskScores(String task, long steps, double initialLoss, double bestLoss, String note,
                             BestOfK bestOfK, List<Double> poolScores) {

        /** Copies the pool scores. */
        public TaskScores {
            poolScores = List.copyOf(poolScores);
        }

        /** Whether the task has scores: its initialization trial measured a finite {@code L0}. */
        public boolean scored() {
            return bestOfK != null;
        }
    }

    /**
     * Best-of-k scores for k = 1..{@link Reproduce#K} (element {@code k - 1}), on one task or averaged over tasks.
     * Scores are in [0, 1], lower is better: {@code clip((L - L*) / (L0 - L*), 0, 1)}.
     *
     * @param listTaskset    the list under {@code TASKSET}: min score over entries {@code 0..k-1}
     * @param listTorchPort  the list under {@code TORCH_PORT}
     * @param randomExpected random search's expected best-of-k over the pool (exact, order statistics)
     * @param random10       its 10 % quantile
     * @param random90       its 90 % quantile
     * @param adamDefault    Adam at learning rate 1e-3
     * @param adamGrid       the best score of the five-point Adam grid
     */
    public record BestOfK(List<Double> listTaskset, List<Double> listTorchPort, List<Double> randomExpected,
                          List<Double> random10, List<Double> random90, double adamDefault, double adamGrid) {

        /** Copies the lists; refuses lists that are not {@link Reproduce#K} long. */
        public BestOfK {
            for (List<Double> curve : List.of(listTaskset, listTorchPort, randomExpected, random10, random90)) {
                if (curve.size() != Reproduce.K) {
                    throw new IllegalArgumentException("best-of-k curves must have " + Reproduce.K + " points, got "
                            + curve.size());
                }
            }
            listTaskset = List.copyOf(listTaskset);
            listTorchPort = List.copyOf(listTorchPort);
            randomExpected = List.copyOf(randomExpected);
            random10 = List.copyOf(random10);
            random90 = List.copyOf(random90);
        }

        /** The list's best-of-k curve under {@code variant}. */
        public List<Double> list(ListVariant variant) {
            return variant == ListVariant.TASKSET ? listTaskset : listTorchPort;
        }

        /** The list's best-of-k under {@code variant}, k from 1. */
        public double list(ListVariant variant, int k) {
            return list(variant).get(k - 1);
        }

        /** The k (from 1) at which the list under {@code variant} scores worse than random search's expectation. */
        public List<Integer> kWhereListTrailsRandom(ListVariant variant) {
            List<Integer> out = new ArrayList<>();
            for (int k = 1; k <= Reproduce.K; k++) {
                if (list(variant, k) > randomExpected.get(k - 1)) {
                    out.add(k);
                }
            }
            return out;
        }

        /** The smallest k at which the list under {@code variant} scores at most {@code target}, or -1 for none. */
        public int firstKReaching(ListVariant variant, double target) {
            for (int k = 1; k <= Reproduce.K; k++) {
                if (list(variant, k) <= target) {
                    return k;
                }
            }
            return -1;
        }
    }

    /** What a trial of the {@link Reproduce} protocol stands for. */
    public enum Method {
        /** The initialization, trained with learning rate 0: its held-out loss is the task's {@code L0}. */
        INIT,
        /** List entries 0–9 in order, as TaskSet ranked them ({@code ListVariant.TASKSET}). */
        LIST_TASKSET,
        /** List entries 0–9 in order, as the PyTorch and JAX bindings run them ({@code ListVariant.TORCH_PORT}). */
        LIST_TORCH_PORT,
        /** The random-search pool: entries drawn from indices 10..999, under {@code TASKSET}. */
        RANDOM,
        /** Adam at one learning rate of the grid {1e-4, 3e-4, 1e-3, 3e-3, 1e-2}. */
        ADAM
    }

    /**
     * One trial of the protocol in {@code trials.csv} and {@code trials.jsonl}: the task, the method, the score, then
     * the trial and the configuration that ran (as {@link TrialResult.Row}).
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
    public record Row(String task, Method method, int rank, double score, String reusedFrom,
                               @JsonUnwrapped TrialResult.Row trial) {
    }
}
