package io.github.optlist.search;

import io.github.optlist.internal.SettingException;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The median rule as Optuna's {@code PercentilePruner(50)} states it; every expected median is worked out by hand or
 * with {@code numpy.nanpercentile(values, 50)}.
 */
class MedianPrunerTest {

    static final double NAN = Double.NaN;

    /** A trial with the same value at steps 0..last. */
    static PruningMonitor.Values flat(double value, int last) {
        long[] steps = new long[last + 1];
        double[] values = new double[last + 1];
        for (int i = 0; i <= last; i++) {
            steps[i] = i;
            values[i] = value;
        }
        return PruningMonitor.Values.of(steps, values);
    }

    /** Completed trials flat at each of {@code values}, over steps 0..last. */
    static List<PruningMonitor.Values> completed(int last, double... values) {
        List<PruningMonitor.Values> out = new ArrayList<>();
        for (double v : values) {
            out.add(flat(v, last));
        }
        return out;
    }

    /** Median rule without warm-up and without startup trials unless given. */
    static PrunerSettings median(int startup, long warmup, long interval, int minTrials) {
        return PrunerSettings.median(startup, warmup, interval, minTrials, 1);
    }

    static boolean prune(PrunerSettings s, PruningMonitor.Values trial, List<PruningMonitor.Values> done) {
        return MedianPruner.shouldPrune(s, 100, Direction.MINIMIZE, trial, done);
    }

    @Test
    void prunesOnlyAboveTheMedianOfTheCompletedTrialsAndNotOnATie() {
        PrunerSettings s = median(0, 0, 1, 1);
        List<PruningMonitor.Values> odd = completed(5, 1, 2, 10);            // median 2
        assertTrue(prune(s, flat(2.5, 5), odd));
        assertFalse(prune(s, flat(2.0, 5), odd));
        assertFalse(prune(s, flat(1.5, 5), odd));
        List<PruningMonitor.Values> even = completed(5, 1, 2, 3, 10);        // median (2 + 3) / 2
        assertTrue(prune(s, flat(2.6, 5), even));
        assertFalse(prune(s, flat(2.5, 5), even));
    }

    @Test
    void theMedianInterpolatesAsNumpyDoes() {
        // numpy.percentile([-1.24, -0.084], 50) == -0.6619999999999999, while (a + b) / 2 == -0.662
        assertEquals(-0.6619999999999999, MedianPruner.medianAt(completed(0, -1.24, -0.084), 0, 1), 0.0);
        assertEquals(2.5, MedianPruner.medianAt(completed(0, 10, 3, 1, 2), 0, 1), 0.0);
    }

    @Test
    void noPruningUntilTheStartupTrialsCompleted() {
        PrunerSettings s = median(5, 0, 1, 1);
        assertFalse(prune(s, flat(100, 3), completed(3, 1, 1, 1, 1)));
        assertTrue(prune(s, flat(100, 3), completed(3, 1, 1, 1, 1, 1)));
        // Optuna: no completed trial never prunes, even with no startup trials asked for
        assertFalse(prune(median(0, 0, 1, 1), flat(100, 3), List.of()));
        assertFalse(prune(median(0, 0, 1, 1), PruningMonitor.Values.EMPTY, completed(3, 1)));
    }

    @Test
    void noPruningBeforeTheWarmUpStepAndTheAutoWarmUpIsATenthOfTheSteps() {
        PrunerSettings s = median(0, 4, 1, 1);
        assertFalse(prune(s, flat(100, 3), completed(9, 1)));
        assertTrue(prune(s, flat(100, 4), completed(9, 1)));
        PrunerSettings auto = PrunerSettings.median(0, PrunerSettings.AUTO, 1, 1, 1);
        assertEquals(10, auto.warmupStepsFor(100));
        assertFalse(MedianPruner.shouldPrune(auto, 100, Direction.MINIMIZE, flat(100, 9), completed(20, 1)));
        assertTrue(MedianPruner.shouldPrune(auto, 100, Direction.MINIMIZE, flat(100, 10), completed(20, 1)));
    }

    @Test
    void checksOnlyTheFirstReportOfEachIntervalAfterTheWarmUp() {
        PrunerSettings s = median(0, 2, 3, 1);          // checks at steps 2, 5, 8, ...
        List<PruningMonitor.Values> done = completed(20, 1);
        assertTrue(prune(s, flat(100, 2), done));
        assertFalse(prune(s, flat(100, 3), done));
        assertFalse(prune(s, flat(100, 4), done));
        assertTrue(prune(s, flat(100, 5), done));
        // reported at 2 and then 7: 7 is the first report of the interval starting at 5, so it is checked
        assertTrue(prune(s, PruningMonitor.Values.of(new long[]{2, 7}, new double[]{100, 100}), done));
        // reported at 5 and then 7: the interval's check was at 5
        assertFalse(prune(s, PruningMonitor.Values.of(new long[]{5, 7}, new double[]{100, 100}), done));
    }

    @Test
    void comparesTheTrialsBestValueSoFarWithTheMedianAtItsLastStep() {
        PrunerSettings s = median(0, 0, 1, 1);
        // best 1.0 (step 0) is below the median 2 at step 1, though the value at step 1 is above it
        PruningMonitor.Values trial = PruningMonitor.Values.of(new long[]{0, 1}, new double[]{1.0, 5.0});
        assertFalse(prune(s, trial, completed(1, 2, 2, 2)));
        // the median is taken at the trial's last step only: 3 there, whatever the trials did before
        List<PruningMonitor.Values> done = List.of(PruningMonitor.Values.of(new long[]{0, 1}, new double[]{100, 3}));
        assertTrue(prune(s, PruningMonitor.Values.of(new long[]{0, 1}, new double[]{4, 4}), done));
    }

    @Test
    void onlyCompletedTrialsWithAValueAtTheStepCountTowardTheMinimum() {
        PrunerSettings s = median(0, 0, 1, 3);
        List<PruningMonitor.Values> done = new ArrayList<>(completed(5, 1, 1));
        done.add(flat(1, 2));                    // no value at step 5
        assertFalse(prune(s, flat(100, 5), done));
        done.add(flat(1, 5));
        assertTrue(prune(s, flat(100, 5), done));
    }

    @Test
    void nanValuesCountTowardTheMinimumButNotTheMedianAndAnAllNanTrialIsPruned() {
        PrunerSettings s = median(0, 0, 1, 3);
        List<PruningMonitor.Values> done = completed(0, 1, NAN, 3);       // nanpercentile: median of 1 and 3 = 2
        assertEquals(2.0, MedianPruner.medianAt(done, 0, 3), 0.0);
        assertTrue(prune(s, flat(2.5, 0), done));
        assertFalse(prune(s, flat(1.5, 0), done));
        // every completed value NaN: no median, no pruning
        assertFalse(prune(s, flat(100, 0), completed(0, NAN, NAN, NAN)));
        // a trial whose every value is NaN is pruned, as Optuna does
        assertTrue(prune(s, flat(NAN, 0), done));
        // NaN values of the trial are skipped when taking its best
        assertFalse(prune(s, PruningMonitor.Values.of(new long[]{0}, new double[]{1.0}), done));
        PruningMonitor.Values mixed = PruningMonitor.Values.of(new long[]{0, 1}, new double[]{1.0, NAN});
        assertFalse(prune(s, mixed, completed(1, 2, 2, 2)));
    }

    @Test
    void whenMaximizingTheTrialIsPrunedBelowTheMedianAndItsBestIsItsHighest() {
        PrunerSettings s = median(0, 0, 1, 1);
        List<PruningMonitor.Values> done = completed(1, 1, 2, 10);       // median 2
        assertTrue(MedianPruner.shouldPrune(s, 100, Direction.MAXIMIZE, flat(1.5, 1), done));
        assertFalse(MedianPruner.shouldPrune(s, 100, Direction.MAXIMIZE, flat(2.0, 1), done));
        PruningMonitor.Values trial = PruningMonitor.Values.of(new long[]{0, 1}, new double[]{3.0, 0.5});
        assertFalse(MedianPruner.shouldPrune(s, 100, Direction.MAXIMIZE, trial, done));
    }

    @Test
    void noPrunerNeverPrunes() {
        assertFalse(prune(PrunerSettings.none(), flat(NAN, 50), completed(50, 1, 1, 1, 1, 1, 1)));
    }

    @Test
    void badArgumentsAreRefusedNamingTheSetting() {
        assertThrows(IllegalArgumentException.class, () -> prune(null, flat(1, 0), List.of()));
        assertThrows(IllegalArgumentException.class, () -> MedianPruner.shouldPrune(PrunerSettings.median(), 0,
                Direction.MINIMIZE, flat(1, 0), List.of()));
        assertEquals("startupTrials", assertThrows(SettingException.class,
                () -> PrunerSettings.median(-1, 0, 1, 1, 1)).setting());
        assertEquals("warmupSteps", assertThrows(SettingException.class,
                () -> PrunerSettings.median(5, -2, 1, 1, 1)).setting());
        assertEquals("intervalSteps", assertThrows(SettingException.class,
                () -> PrunerSettings.median(5, 0, 0, 1, 1)).setting());
        assertEquals("minTrials", assertThrows(SettingException.class,
                () -> PrunerSettings.median(5, 0, 1, 0, 1)).setting());
        assertEquals("windowSteps", assertThrows(SettingException.class,
                () -> PrunerSettings.median(5, 0, 1, 1, 0)).setting());
        assertThrows(IllegalArgumentException.class, () -> PruningMonitor.Values.of(new long[]{1, 1},
                new double[]{0, 0}));
        assertThrows(IllegalArgumentException.class, () -> PruningMonitor.Values.of(new long[]{-1},
                new double[]{0}));
        assertThrows(IllegalArgumentException.class, () -> PruningMonitor.Values.of(new long[]{1}, new double[0]));
    }
}
