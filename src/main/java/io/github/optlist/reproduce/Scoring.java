package io.github.optlist.reproduce;

import io.github.optlist.reproduce.ReproduceResult.BestOfK;
import io.github.optlist.reproduce.ReproduceResult.Method;
import io.github.optlist.reproduce.ReproduceResult.Row;
import io.github.optlist.reproduce.ReproduceResult.TaskScores;
import io.github.optlist.ListVariant;
import io.github.optlist.search.TrialResult;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** Turns a task's trials into scores and best-of-k curves, and averages curves over tasks. */
final class Scoring {

    /** Seed of the Monte Carlo draws behind the spread of the mean over tasks. */
    static final long MEAN_SPREAD_SEED = 20200226L;

    /** Draws behind the spread of the mean over tasks. */
    static final int MEAN_SPREAD_DRAWS = 20_000;

    private Scoring() {
    }

    /**
     * {@code clip((loss - best) / (initial - best), 0, 1)}; 1 for a trial that did not end OK. When no method
     * improved on the initialization ({@code initial <= best}) every trial scores 1.
     */
    static double score(TrialResult trial, double initial, double best) {
        if (!trial.ok() || !(initial - best > 0)) {
            return 1.0;
        }
        return Math.min(1.0, Math.max(0.0, (trial.objective() - best) / (initial - best)));
    }

    /**
     * Scores one task, appending a row per slot of the protocol to {@code rows}.
     *
     * @param results the task's results by label; must hold every planned candidate
     */
    static TaskScores task(String task, long steps, Protocol protocol, Map<String, TrialResult> results,
                           List<Row> rows) {
        TrialResult init = require(results, protocol.init().label(), task);
        double initial = init.ok() ? init.objective() : Double.NaN;
        double best = Double.NaN;
        for (Protocol.Slot slot : protocol.slots()) {
            TrialResult r = require(results, slot.candidate().label(), task);
            if (slot.method() != Method.INIT && r.ok() && !(r.objective() >= best)) {
                best = r.objective();
            }
        }
        boolean scored = Double.isFinite(initial);
        String note = !scored ? "not scored: the initialization trial " + init.status() + " (" + init.reason() + ")"
                : !(initial - best > 0) ? "no method improved on the initialization: every trial scores 1" : "";
        List<Double> taskset = new ArrayList<>(Collections.nCopies(Reproduce.K, Double.NaN));
        List<Double> torch = new ArrayList<>(Collections.nCopies(Reproduce.K, Double.NaN));
        List<Double> pool = new ArrayList<>();
        List<Double> grid = new ArrayList<>();
        double adamDefault = Double.NaN;
        for (Protocol.Slot slot : protocol.slots()) {
            TrialResult r = results.get(slot.candidate().label());
            double score = slot.method() == Method.INIT || !scored ? Double.NaN : score(r, initial, best);
            rows.add(new Row(task, slot.method(), slot.rank(), score, slot.reusedFrom(), TrialResult.Row.of(r)));
            switch (slot.method()) {
                case LIST_TASKSET -> taskset.set(slot.rank(), score);
                case LIST_TORCH_PORT -> torch.set(slot.rank(), score);
                case RANDOM -> pool.add(score);
                case ADAM -> {
                    grid.add(score);
                    if (slot.candidate().label().equals(Protocol.adamLabel(Protocol.ADAM_DEFAULT))) {
                        adamDefault = score;
                    }
                }
                case INIT -> {
                }
            }
        }
        if (!scored) {
            return new TaskScores(task, steps, initial, best, note, null, List.of());
        }
        double[] poolScores = pool.stream().mapToDouble(Double::doubleValue).toArray();
        List<Double> expected = new ArrayList<>();
        List<Double> q10 = new ArrayList<>();
        List<Double> q90 = new ArrayList<>();
        for (int k = 1; k <= Reproduce.K; k++) {
            expected.add(OrderStatistics.expectedMin(poolScores, k));
            q10.add(OrderStatistics.minQuantile(poolScores, k, 10));
            q90.add(OrderStatistics.minQuantile(poolScores, k, 90));
        }
        BestOfK curves = new BestOfK(runningMin(taskset), runningMin(torch), expected, q10, q90, adamDefault,
                grid.stream().mapToDouble(Double::doubleValue).min().orElse(1.0));
        return new TaskScores(task, steps, initial, best, note, curves, pool);
    }

    /**
     * The mean of the scored tasks' curves. Means of expectations are exact (linearity); the 10 %/90 % band of
     * random search's mean is estimated by {@link OrderStatistics#meanOfMinQuantiles} with a fixed seed, each task
     * drawing its k entries independently.
     *
     * @return null when no task is scored
     */
    static BestOfK mean(List<TaskScores> tasks) {
        List<BestOfK> scored = tasks.stream().filter(TaskScores::scored).map(TaskScores::bestOfK).toList();
        if (scored.isEmpty()) {
            return null;
        }
        double[][] pools = tasks.stream().filter(TaskScores::scored)
                .map(t -> t.poolScores().stream().mapToDouble(Double::doubleValue).toArray()).toArray(double[][]::new);
        List<Double> q10 = new ArrayList<>();
        List<Double> q90 = new ArrayList<>();
        for (int k = 1; k <= Reproduce.K; k++) {
            double[] band = OrderStatistics.meanOfMinQuantiles(pools, k, new int[]{10, 90}, MEAN_SPREAD_DRAWS,
                    MEAN_SPREAD_SEED + k);
            q10.add(band[0]);
            q90.add(band[1]);
        }
        return new BestOfK(meanCurve(scored, b -> b.list(ListVariant.TASKSET)),
                meanCurve(scored, b -> b.list(ListVariant.TORCH_PORT)), meanCurve(scored, BestOfK::randomExpected),
                q10, q90, scored.stream().mapToDouble(BestOfK::adamDefault).average().orElseThrow(),
                scored.stream().mapToDouble(BestOfK::adamGrid).average().orElseThrow());
    }

    private static List<Double> meanCurve(List<BestOfK> curves, java.util.function.Function<BestOfK, List<Double>> of) {
        List<Double> out = new ArrayList<>();
        for (int k = 0; k < Reproduce.K; k++) {
            int at = k;
            out.add(curves.stream().mapToDouble(b -> of.apply(b).get(at)).average().orElseThrow());
        }
        return out;
    }

    private static List<Double> runningMin(List<Double> scores) {
        List<Double> out = new ArrayList<>();
        double min = Double.POSITIVE_INFINITY;
        for (double s : scores) {
            min = Math.min(min, s);
            out.add(min);
        }
        return out;
    }

    private static TrialResult require(Map<String, TrialResult> results, String label, String task) {
        TrialResult r = results.get(label);
        if (r == null) {
            throw new IllegalStateException("task " + task + " has no result for " + label);
        }
        return r;
    }
}
