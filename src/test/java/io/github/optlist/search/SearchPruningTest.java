package io.github.optlist.search;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A search with the median pruner and a compute budget, on trials that report fixed curves. */
class SearchPruningTest {

    @TempDir
    Path dir;

    final Set<Integer> ran = ConcurrentHashMap.newKeySet();

    /** Entries 0-4 and 7 report a flat loss of 1, entry 5 of 3, entry 6 of 0.5; the objective is that loss. */
    final Trial flat = context -> {
        ran.add(context.index());
        double loss = context.index() == 5 ? 3.0 : context.index() == 6 ? 0.5 : 1.0;
        for (long step = 0; step < context.trainingSteps(); step++) {
            context.reportLoss(step, loss);
        }
        return loss;
    };

    static SearchSettings.Builder settings(int trials) {
        return SearchSettings.builder("flat", 20, trials).divergence(DivergenceRule.NON_FINITE_ONLY);
    }

    @Test
    void aTrialAboveTheMedianAfterTheWarmUpEndsPrunedWithItsLastIntermediateValue() throws IOException {
        SearchResult result = Search.run(settings(7).pruner(PrunerSettings.median()).build(), flat, dir,
                SearchListener.NONE);
        TrialResult pruned = result.trials().get(5);
        // 20 steps: warm-up 2, window 1; the five completed trials' median at step 2 is 1, entry 5's best 3
        assertEquals(TrialStatus.PRUNED, pruned.status());
        assertEquals(3.0, pruned.objective(), 0.0);
        assertTrue(pruned.reason().startsWith("pruned at step 2"), pruned.reason());
        assertEquals(2, pruned.curve().get(pruned.curve().size() - 1).step());
        assertFalse(pruned.ok());
        assertEquals(TrialStatus.OK, result.trials().get(6).status());
        assertEquals(0.5, result.best().orElseThrow().objective(), 0.0);
    }

    @Test
    void withoutAPrunerEveryTrialTrainsToTheEnd() throws IOException {
        SearchResult result = Search.run(settings(7).build(), flat, dir, SearchListener.NONE);
        assertTrue(result.trials().stream().allMatch(TrialResult::ok));
    }

    @Test
    void theBudgetCountsPrunedTrialsByTheStepsTheyRanAndHoldsOnResume() throws IOException {
        // budget 6 x 20 = 120 steps: entries 0-4 cost 100, entry 5 is pruned after 3 steps, entry 6 takes the
        // search to 123, so entry 7 does not start
        SearchSettings s = settings(8).pruner(PrunerSettings.median()).budget(new SearchSettings.Budget(6)).build();
        SearchResult result = Search.run(s, flat, dir, SearchListener.NONE);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), result.trials().stream().map(TrialResult::index).toList());
        ran.clear();
        Search.run(s, flat, dir, SearchListener.NONE);
        assertEquals(Set.of(), ran);
    }

    @Test
    void withoutPruningTheBudgetRunsThatManyFullTrials() throws IOException {
        SearchSettings s = settings(8).budget(new SearchSettings.Budget(6)).build();
        SearchResult result = Search.run(s, flat, dir, SearchListener.NONE);
        assertEquals(List.of(0, 1, 2, 3, 4, 5), result.trials().stream().map(TrialResult::index).toList());
    }
}
