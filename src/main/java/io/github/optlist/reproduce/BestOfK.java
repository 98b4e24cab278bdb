package io.github.optlist.reproduce;

import io.github.optlist.ListVariant;

import java.util.ArrayList;
import java.util.List;

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
