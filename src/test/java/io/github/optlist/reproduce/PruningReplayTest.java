package io.github.optlist.reproduce;

import io.github.optlist.search.SearchSettings;
import io.github.optlist.search.PrunerSettings;
import io.github.optlist.search.TrialStatus;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The replay on tiny hand-made curves of 10 steps, whose outcome is worked out by hand: with the median pruner's
 * defaults the warm-up is 1 step (10 %), the window 1 step, and pruning starts once 5 trials completed.
 */
class PruningReplayTest {

    static final long STEPS = 10;

    /** A trial reporting {@code loss} at steps 0..last, ending with {@code status} and objective {@code loss}. */
    static PruningReplay.Recorded flat(String label, TrialStatus status, double loss, int last) {
        long[] steps = new long[last + 1];
        double[] losses = new double[last + 1];
        for (int i = 0; i <= last; i++) {
            steps[i] = i;
            losses[i] = loss;
        }
        return new PruningReplay.Recorded(label, status, status == TrialStatus.OK ? loss : Double.NaN, steps,
                losses);
    }

    /**
     * Entries 0-4 flat at 1..5 (median 3), entry 5 flat at 10, entry 6 flat at 2, entry 7 diverged at step 3 with a
     * loss of 9 before, entry 8 at 0.5 until step 4 and 20 after, entry 9 flat at 4.
     */
    static List<PruningReplay.Recorded> curves() {
        List<PruningReplay.Recorded> r = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            r.add(flat("e" + i, TrialStatus.OK, i + 1, 9));
        }
        r.add(flat("e5", TrialStatus.OK, 10, 9));
        r.add(flat("e6", TrialStatus.OK, 2, 9));
        r.add(flat("e7", TrialStatus.DIVERGED, 9, 3));
        long[] steps = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        double[] losses = {0.5, 0.5, 0.5, 0.5, 0.5, 20, 20, 20, 20, 20};
        r.add(new PruningReplay.Recorded("e8", TrialStatus.OK, 0.7, steps, losses));
        r.add(flat("e9", TrialStatus.OK, 4, 9));
        return r;
    }

    @Test
    void replayPrunesAsTheSearchWouldInListOrder() {
        List<PruningReplay.Replayed> out = PruningReplay.replay(curves(), STEPS, PrunerSettings.median());
        List<TrialStatus> statuses = out.stream().map(PruningReplay.Replayed::status).toList();
        // e5: 10 > median 3 at step 1 (the first check after the warm-up of 1 step): pruned, 2 steps
        // e6: 2 < 3: completes; completed now 1,2,3,4,5,2 (median 2.5)
        // e7: 9 > 2.5 at step 1: pruned before it would diverge at step 3
        // e8: its best 0.5 stays below every median: completes
        // e9: 4 > median of 1,2,3,4,5,2,0.5 at step 1 (2): pruned
        assertEquals(List.of(TrialStatus.OK, TrialStatus.OK, TrialStatus.OK, TrialStatus.OK, TrialStatus.OK,
                TrialStatus.PRUNED, TrialStatus.OK, TrialStatus.PRUNED, TrialStatus.OK, TrialStatus.PRUNED), statuses);
        assertEquals(List.of(10L, 10L, 10L, 10L, 10L, 2L, 10L, 2L, 10L, 2L),
                out.stream().map(PruningReplay.Replayed::cost).toList());
        assertEquals(1, out.get(5).prunedStep());
        assertTrue(Double.isNaN(out.get(5).objective()));
    }

    @Test
    void withoutAPrunerTheReplayIsTheRecordAndADivergedTrialCostsItsSteps() {
        List<PruningReplay.Replayed> out = PruningReplay.replay(curves(), STEPS, PrunerSettings.none());
        assertEquals(TrialStatus.DIVERGED, out.get(7).status());
        assertEquals(4, out.get(7).cost());
        assertEquals(0.7, out.get(8).objective(), 0.0);
        // best-of-10 over entries 0..9: 0.7 (e8) for 9 x 10 + 4 steps
        PruningReplay.Outcome best = PruningReplay.bestOf(out, 10);
        assertEquals(0.7, best.best(), 0.0);
        assertEquals(94, best.steps());
    }

    @Test
    void bestOfKAndTheBudgetCountOnlyCompletedTrialsAndTheStepsTrained() {
        List<PruningReplay.Replayed> pruned = PruningReplay.replay(curves(), STEPS, PrunerSettings.median());
        PruningReplay.Outcome five = PruningReplay.bestOf(pruned, 5);
        assertEquals(1.0, five.best(), 0.0);
        assertEquals(50, five.steps());
        // 10 trials: 7 x 10 + 3 x 2 steps
        assertEquals(76, PruningReplay.bestOf(pruned, 10).steps());
        // a budget of 7 full trials (70 steps): entries 0-4 (50), e5 (52), e6 (62), e7 (64), e8 (74): stop
        PruningReplay.Outcome budget = PruningReplay.withinBudget(pruned, new SearchSettings.Budget(7), STEPS);
        assertEquals(9, budget.tried());
        assertEquals(74, budget.steps());
        assertEquals(0.7, budget.best(), 0.0);
        // without pruning the same budget reaches e6 only: entries 0-6 cost 70
        PruningReplay.Outcome full = PruningReplay.withinBudget(PruningReplay.replay(curves(), STEPS,
                PrunerSettings.none()), new SearchSettings.Budget(7), STEPS);
        assertEquals(7, full.tried());
        assertEquals(1.0, full.best(), 0.0);
    }
}
