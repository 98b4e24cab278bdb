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

    @Test
    void aWorkerPrunesAgainstTheTrialsAnotherWorkerCompletedInTheStudy() throws IOException {
        // The first worker completes entries 0-4; the second, a new process in effect, has completed none itself.
        Search.run(settings(5).pruner(PrunerSettings.median()).build(), flat, dir, SearchListener.NONE);
        SearchResult result = Search.run(settings(7).pruner(PrunerSettings.median()).build(), flat, dir,
                SearchListener.NONE);
        assertEquals(Set.of(5, 6), ran.stream().filter(i -> i >= 5).collect(java.util.stream.Collectors.toSet()));
        TrialResult pruned = result.trials().get(5);
        assertEquals(TrialStatus.PRUNED, pruned.status());
        assertTrue(pruned.reason().contains("of 5 completed trial(s)"), pruned.reason());
    }

    @Test
    void twoWorkersShareOneBudgetAndOvershootItByAtMostOneTrialEach() throws Exception {
        // Budget 3 x 20 steps, entries all complete: the two workers' first trials overlap (each waits for the
        // other to start), so together they may start at most 3 + (2 - 1) trials; each counting only its own
        // steps would run 3 each.
        java.util.concurrent.CountDownLatch bothStarted = new java.util.concurrent.CountDownLatch(2);
        Trial overlapping = context -> {
            if (context.index() < 2) {
                bothStarted.countDown();
                bothStarted.await(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            return flat.run(context);
        };
        SearchSettings s = settings(10).budget(new SearchSettings.Budget(3)).build();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var a = pool.submit(() -> Search.run(s, overlapping, dir, SearchListener.NONE));
            var b = pool.submit(() -> Search.run(s, overlapping, dir, SearchListener.NONE));
            a.get(120, java.util.concurrent.TimeUnit.SECONDS);
            b.get(120, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertTrue(ran.size() >= 3 && ran.size() <= 4, "ran " + ran);
    }

    @Test
    void aCompletedTrialLeavesItsWindowedValuesAtTheStepsOfItsThinnedCurve() {
        PruningMonitor monitor = new PruningMonitor(PrunerSettings.median(), 1000, List::of);
        for (long step = 0; step < 1000; step++) {
            monitor.report(step, step);
        }
        PruningMonitor.Values recorded = monitor.recordedValues();
        assertEquals(200, recorded.size());
        // 1000 points thinned evenly to 200: point i is entry floor(i * 999 / 199), the first and last kept; the
        // window is 5 % of 1000 steps, so the mean at step s >= 49 is s - 24.5.
        assertEquals(0, recorded.step(0));
        assertEquals(5, recorded.step(1));
        assertEquals(10, recorded.step(2));
        assertEquals(999, recorded.step(199));
        assertEquals(999 - 24.5, recorded.value(199), 1e-9);
        assertEquals(0.0, recorded.value(0), 0.0);
    }

    @Test
    void prunerValuesAStudyHoldsThatThisCodeDoesNotWriteAreRefusedNamingTheTrial() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String bad : List.of("{\"steps\": [2, 1], \"values\": [1.0, 2.0]}", "{\"steps\": [1]}",
                "{\"steps\": [1.5], \"values\": [1.0]}", "{\"steps\": [1], \"values\": [\"x\"]}",
                "{\"steps\": [1, 2], \"values\": [1.0]}", "\"text\"",
                // 2^64 + 4: read as a long it would wrap to step 4.
                "{\"steps\": [1, 18446744073709551620], \"values\": [1.0, 2.0]}")) {
            IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class, () -> StudyTrials.prunerValues(7, json.readTree(bad)), bad);
            assertTrue(refused.getMessage().startsWith("trial id 7 of the study holds"), refused.getMessage());
        }
        PruningMonitor.Values good = StudyTrials.prunerValues(7, json.readTree("{\"steps\": [0, 4],"
                + " \"values\": [2.5, 1.0]}"));
        assertEquals(4, good.step(1));
        assertEquals(1.0, good.value(1), 0.0);
    }
}
