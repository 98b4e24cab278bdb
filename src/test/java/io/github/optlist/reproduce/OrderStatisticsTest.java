package io.github.optlist.reproduce;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class OrderStatisticsTest {

    /** Pools with distinct scores, ties, a single entry and the extremes of a score. */
    static Stream<double[]> pools() {
        return Stream.of(new double[]{0.7}, new double[]{0.3, 0.1}, new double[]{0.5, 0.2, 0.9, 0.4},
                new double[]{1, 1, 0, 0.5, 1, 0.25}, new double[]{0.8, 0.1, 0.1, 0.6, 0.35, 1, 0.05, 0.9},
                new double[]{0.2, 0.2, 0.2, 0.2, 0.2});
    }

    static Stream<Arguments> poolsAndK() {
        return pools().flatMap(pool -> java.util.stream.IntStream.rangeClosed(1, pool.length)
                .mapToObj(k -> Arguments.of(pool, k)));
    }

    /** Every k-subset of positions {@code 0..n-1}: each is equally likely when drawing k without replacement. */
    static List<int[]> subsets(int n, int k) {
        List<int[]> out = new ArrayList<>();
        collect(n, k, 0, new int[k], 0, out);
        return out;
    }

    private static void collect(int n, int k, int from, int[] chosen, int size, List<int[]> out) {
        if (size == k) {
            out.add(chosen.clone());
            return;
        }
        for (int i = from; i < n; i++) {
            chosen[size] = i;
            collect(n, k, i + 1, chosen, size + 1, out);
        }
    }

    /** The minimum score of every k-subset, by enumeration. */
    static double[] subsetMinima(double[] pool, int k) {
        return subsets(pool.length, k).stream()
                .mapToDouble(s -> Arrays.stream(s).mapToDouble(i -> pool[i]).min().orElseThrow()).toArray();
    }

    @ParameterizedTest
    @MethodSource("poolsAndK")
    void expectedMinimumEqualsTheAverageOverEveryKSubset(double[] pool, int k) {
        double bruteForce = Arrays.stream(subsetMinima(pool, k)).average().orElseThrow();
        assertEquals(bruteForce, OrderStatistics.expectedMin(pool, k), 1e-12);
    }

    @ParameterizedTest
    @MethodSource("poolsAndK")
    void quantilesAreTheSmallestMinimumReachingTheFractionOfSubsets(double[] pool, int k) {
        double[] minima = subsetMinima(pool, k);
        for (int percent : new int[]{10, 50, 90, 100}) {
            // smallest value v among the minima with (#subsets whose minimum <= v) / #subsets >= percent / 100
            double expected = Arrays.stream(minima).sorted()
                    .filter(v -> 100L * Arrays.stream(minima).filter(m -> m <= v).count()
                            >= (long) percent * minima.length)
                    .findFirst().orElseThrow();
            assertEquals(expected, OrderStatistics.minQuantile(pool, k, percent), 0.0, "percent " + percent);
        }
    }

    @ParameterizedTest
    @MethodSource("poolsAndK")
    void minimumProbabilitiesSumToOne(double[] pool, int k) {
        assertEquals(1.0, Arrays.stream(OrderStatistics.minProbabilities(pool.length, k)).sum(), 1e-12);
    }

    @Test
    void probabilitiesFollowTheBinomialFormula() {
        // n = 5, k = 2: P(min = s(i)) = C(5 - i, 1) / C(5, 2) = (4, 3, 2, 1, 0) / 10
        assertEquals(List.of(0.4, 0.3, 0.2, 0.1, 0.0),
                Arrays.stream(OrderStatistics.minProbabilities(5, 2)).boxed().toList());
    }

    @Test
    void drawingTheWholePoolGivesItsMinimumAndOneEntryItsMean() {
        double[] pool = {0.4, 0.9, 0.1, 0.6};
        assertEquals(0.1, OrderStatistics.expectedMin(pool, 4), 1e-15);
        assertEquals(0.5, OrderStatistics.expectedMin(pool, 1), 1e-15);
    }

    @Test
    void meanOverPoolsBandHoldsTheExactExpectationOfTheMean() {
        double[][] pools = {{0.1, 0.5, 0.9, 0.3}, {0.0, 1.0, 0.2, 0.7}};
        double exactMean = (OrderStatistics.expectedMin(pools[0], 2) + OrderStatistics.expectedMin(pools[1], 2)) / 2;
        double[] band = OrderStatistics.meanOfMinQuantiles(pools, 2, new int[]{10, 90}, 5000, 7);
        assertEquals(true, band[0] <= exactMean && exactMean <= band[1], Arrays.toString(band) + " vs " + exactMean);
        // a single pool drawn whole has no spread
        assertEquals(List.of(0.1, 0.1), Arrays.stream(OrderStatistics.meanOfMinQuantiles(new double[][]{pools[0]}, 4,
                new int[]{10, 90}, 100, 1)).boxed().toList());
    }

    @Test
    void kOutsideThePoolIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> OrderStatistics.expectedMin(new double[]{1, 2}, 3));
        assertEquals("k must be in [1, 2] for a pool of 2, got 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OrderStatistics.minQuantile(new double[]{1}, 1, 0));
    }
}
