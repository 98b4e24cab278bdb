package io.github.optlist.reproduce;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.Arrays;
import java.util.Random;

/**
 * Random search's best-of-k over a finite pool, exactly: the distribution of the minimum of {@code k} scores drawn
 * without replacement from a pool of {@code n}.
 *
 * <p>With the scores sorted, {@code s(1) <= ... <= s(n)}, the minimum of a uniformly drawn k-subset is
 * {@code s(i)} when the subset holds position {@code i} and {@code k - 1} of the {@code n - i} positions after it:
 * {@code P(min = s(i)) = C(n - i, k - 1) / C(n, k)} (ties change which position is the minimum, not its value).
 * The expectation is {@code sum_i s(i) P(min = s(i))}; the q-quantile is the smallest {@code s(i)} whose
 * cumulative probability reaches q. Binomials are exact ({@link BigInteger}).
 */
final class OrderStatistics {

    private OrderStatistics() {
    }

    /**
     * {@code P(min = s(i))} for {@code i = 1..n}, at array index {@code i - 1}.
     *
     * @throws IllegalArgumentException if {@code k} is outside {@code [1, n]}
     */
    public static double[] minProbabilities(int n, int k) {
        BigInteger[] weights = weights(n, k);
        BigDecimal total = new BigDecimal(binomial(n, k));
        double[] p = new double[n];
        for (int i = 0; i < n; i++) {
            p[i] = new BigDecimal(weights[i]).divide(total, MathContext.DECIMAL64).doubleValue();
        }
        return p;
    }

    /**
     * The expected minimum of {@code k} scores drawn without replacement from {@code scores}.
     *
     * @throws IllegalArgumentException if {@code k} is outside {@code [1, scores.length]}
     */
    public static double expectedMin(double[] scores, int k) {
        double[] sorted = sorted(scores);
        double[] p = minProbabilities(sorted.length, k);
        double sum = 0;
        for (int i = 0; i < sorted.length; i++) {
            sum += p[i] * sorted[i];
        }
        return sum;
    }

    /**
     * The {@code percent}-quantile of the minimum of {@code k} scores drawn without replacement: the smallest
     * score {@code s(i)} with {@code P(min <= s(i)) >= percent / 100}, compared exactly.
     *
     * @throws IllegalArgumentException if {@code k} is outside {@code [1, scores.length]} or {@code percent} outside
     *                                  {@code [1, 100]}
     */
    public static double minQuantile(double[] scores, int k, int percent) {
        if (percent < 1 || percent > 100) {
            throw new IllegalArgumentException("percent must be in [1, 100], got " + percent);
        }
        double[] sorted = sorted(scores);
        BigInteger[] weights = weights(sorted.length, k);
        BigInteger needed = binomial(sorted.length, k).multiply(BigInteger.valueOf(percent));
        BigInteger cumulative = BigInteger.ZERO;
        for (int i = 0; i < sorted.length; i++) {
            cumulative = cumulative.add(weights[i]);
            if (cumulative.multiply(BigInteger.valueOf(100)).compareTo(needed) >= 0) {
                return sorted[i];
            }
        }
        return sorted[sorted.length - 1];
    }

    /**
     * The {@code percent}-quantile, defined as in {@link #minQuantile}, of the mean over pools of the minimum of
     * {@code k} scores drawn without replacement from each pool independently, estimated from {@code draws}
     * draws of a {@link Random} seeded with {@code seed}. Used for the spread of the mean over tasks, where the
     * exact distribution is a convolution too large to enumerate.
     *
     * @throws IllegalArgumentException if a pool is smaller than {@code k}, or {@code draws < 1}
     */
    public static double[] meanOfMinQuantiles(double[][] pools, int k, int[] percents, int draws, long seed) {
        if (draws < 1) {
            throw new IllegalArgumentException("draws must be >= 1, got " + draws);
        }
        for (double[] pool : pools) {
            requireK(pool.length, k);
        }
        Random random = new Random(seed);
        double[] means = new double[draws];
        for (int d = 0; d < draws; d++) {
            double sum = 0;
            for (double[] pool : pools) {
                double[] copy = pool.clone();
                double min = Double.POSITIVE_INFINITY;
                for (int j = 0; j < k; j++) {
                    int pick = j + random.nextInt(copy.length - j);
                    double picked = copy[pick];
                    copy[pick] = copy[j];
                    copy[j] = picked;
                    min = Math.min(min, picked);
                }
                sum += min;
            }
            means[d] = sum / pools.length;
        }
        Arrays.sort(means);
        double[] out = new double[percents.length];
        for (int i = 0; i < percents.length; i++) {
            int rank = (int) Math.ceil(percents[i] / 100.0 * draws);
            out[i] = means[Math.max(0, rank - 1)];
        }
        return out;
    }

    /** {@code C(n, k)}, exactly; 0 when {@code k > n}. */
    static BigInteger binomial(int n, int k) {
        if (k < 0 || k > n) {
            return BigInteger.ZERO;
        }
        BigInteger result = BigInteger.ONE;
        for (int j = 1; j <= k; j++) {
            result = result.multiply(BigInteger.valueOf(n - k + j)).divide(BigInteger.valueOf(j));
        }
        return result;
    }

    /** {@code C(n - i, k - 1)} for {@code i = 1..n}: the number of k-subsets whose minimum is position i. */
    private static BigInteger[] weights(int n, int k) {
        requireK(n, k);
        BigInteger[] w = new BigInteger[n];
        for (int i = 1; i <= n; i++) {
            w[i - 1] = binomial(n - i, k - 1);
        }
        return w;
    }

    private static void requireK(int n, int k) {
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k must be in [1, " + n + "] for a pool of " + n + ", got " + k);
        }
    }

    private static double[] sorted(double[] scores) {
        double[] copy = scores.clone();
        Arrays.sort(copy);
        return copy;
    }
}
