package io.github.optlist.search;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.search.tasks.BuiltInTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SearchTest {

    @TempDir
    Path dir;

    final Set<Integer> ran = ConcurrentHashMap.newKeySet();

    /** Fits a vector to a target with the trial's optimizer, recording what ran. */
    final Trial quadratic = QuadraticTrial.of(context -> ran.add(context.index()));

    static SearchSettings settings(int trials) {
        return SearchSettings.builder("quadratic", 30, trials).divergence(DivergenceRule.NON_FINITE_ONLY).build();
    }

    @Test
    void runsTheBudgetInListOrderAndFindsTheBest() throws IOException {
        SearchResult result = Search.run(settings(6), quadratic, dir, SearchListener.NONE);
        assertEquals(List.of(0, 1, 2, 3, 4, 5), result.trials().stream().map(TrialResult::index).toList());
        assertTrue(result.trials().stream().allMatch(TrialResult::ok));
        double lowest = result.trials().stream().mapToDouble(TrialResult::objective).min().orElseThrow();
        assertEquals(lowest, result.best().orElseThrow().objective());
        List<Double> bestSoFar = result.bestSoFar();
        for (int i = 1; i < bestSoFar.size(); i++) {
            assertTrue(bestSoFar.get(i) <= bestSoFar.get(i - 1));
        }
        assertEquals(30, result.trials().get(0).curve().size());
        for (String file : new String[]{"results.csv", "results.jsonl", "search.png"}) {
            assertTrue(Files.size(dir.resolve(file)) > 0, file);
        }
    }

    @Test
    void resumedSearchNeverRerunsAFinishedTrial() throws IOException {
        Search.run(settings(3), quadratic, dir, SearchListener.NONE);
        assertEquals(Set.of(0, 1, 2), ran);
        // a kill in the middle of writing leaves a cut line behind
        Files.writeString(dir.resolve("results.jsonl"), "{\"index\":7,\"na", StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        ran.clear();
        SearchResult resumed = Search.run(settings(5), quadratic, dir, SearchListener.NONE);
        assertEquals(Set.of(3, 4), ran);
        assertEquals(List.of(0, 1, 2, 3, 4), resumed.trials().stream().map(TrialResult::index).toList());
    }

    /** Stands for what ends a process mid-search: not a trial failure, so it stops the whole search. */
    static final class ProcessKilled extends Error {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void searchStoppedMidwayResumesWithTheUnfinishedTrials() throws IOException {
        Trial dyingAtTwo = context -> {
            if (context.index() == 2) {
                throw new ProcessKilled();
            }
            return quadratic.run(context);
        };
        assertThrows(IllegalStateException.class, () -> Search.run(settings(4), dyingAtTwo, dir, SearchListener.NONE));
        assertEquals(Set.of(0, 1), ran);
        ran.clear();
        SearchResult resumed = Search.run(settings(4), quadratic, dir, SearchListener.NONE);
        assertEquals(Set.of(2, 3), ran);
        assertEquals(4, resumed.trials().size());
        assertTrue(resumed.trials().stream().allMatch(TrialResult::ok));
    }

    @Test
    void resumingWithOtherSettingsIsRefused() throws IOException {
        Search.run(settings(2), quadratic, dir, SearchListener.NONE);
        SearchSettings longer = SearchSettings.builder("quadratic", 40, 2).divergence(DivergenceRule.NON_FINITE_ONLY)
                .build();
        var e = assertThrows(IllegalArgumentException.class,
                () -> Search.run(longer, quadratic, dir, SearchListener.NONE));
        assertTrue(e.getMessage().contains("trainingSteps 30 vs 40"), e.getMessage());
        var other = assertThrows(IllegalArgumentException.class,
                () -> Search.run(settings(2).toBuilder().seed(5).build(), quadratic, dir, SearchListener.NONE));
        assertTrue(other.getMessage().contains("seed 0 vs 5"), other.getMessage());
    }

    @Test
    void failedAndDivergedTrialsAreRecordedAndTheSearchGoesOn() throws IOException {
        Trial mixed = context -> switch (context.index()) {
            case 1 -> throw new IllegalStateException("out of data");
            case 2 -> Double.NaN;
            case 3 -> {
                context.reportLoss(0, 1.0);
                context.reportLoss(1, 50.0); // far above its start
                yield 0.0;
            }
            case 4 -> {
                context.reportLoss(0, Double.POSITIVE_INFINITY);
                yield 0.0;
            }
            default -> quadratic.run(context);
        };
        SearchResult result = Search.run(SearchSettings.of("mixed", 30, 6), mixed, dir, SearchListener.NONE);
        List<TrialResult> t = result.trials();
        assertEquals(TrialStatus.OK, t.get(0).status());
        assertEquals(TrialStatus.FAILED, t.get(1).status());
        assertTrue(t.get(1).reason().contains("IllegalStateException: out of data"), t.get(1).reason());
        assertEquals(TrialStatus.FAILED, t.get(2).status());
        assertTrue(t.get(2).reason().contains("objective is NaN"));
        assertEquals(TrialStatus.DIVERGED, t.get(3).status());
        assertTrue(t.get(3).reason().contains("exceeded 10.0 x its start"), t.get(3).reason());
        assertEquals(TrialStatus.DIVERGED, t.get(4).status());
        assertEquals(TrialStatus.OK, t.get(5).status());
        assertTrue(Double.isNaN(t.get(1).objective()));
        // the failures survive a round trip through the results file
        assertEquals(t, SearchReport.rebuild(dir).trials());
    }

    @Test
    void workersSharingOneStudyRunEveryTrialOnceAndEqualOneWorker() throws Exception {
        SearchResult whole = Search.run(settings(7), quadratic, dir.resolve("whole"), SearchListener.NONE);
        Study shared = Study.in(dir.resolve("shared"));
        Set<Integer> ranTwice = ConcurrentHashMap.newKeySet();
        Set<Integer> seen = ConcurrentHashMap.newKeySet();
        Trial counting = QuadraticTrial.of(context -> {
            if (!seen.add(context.index())) {
                ranTwice.add(context.index());
            }
        });
        var pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            List<java.util.concurrent.Future<SearchResult>> workers = new java.util.ArrayList<>();
            for (int w = 0; w < 3; w++) {
                Path out = dir.resolve("worker" + w);
                workers.add(pool.submit(() -> Search.run(settings(7), counting, shared, out, SearchListener.NONE)));
            }
            for (var worker : workers) {
                worker.get();
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(Set.of(), ranTwice, "no trial ran twice");
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6), seen);
        SearchResult merged = SearchReport.export(shared, dir.resolve("report"));
        assertEquals(objectives(whole), objectives(merged));
        assertEquals(whole.best().orElseThrow().index(), merged.best().orElseThrow().index());
        assertTrue(Files.exists(dir.resolve("report").resolve("search.png")));
    }

    @Test
    void parallelWorkersGiveTheSameResultsAsOne() throws IOException {
        var task = BuiltInTasks.byName("seed-mlp");
        SearchSettings one = SearchSettings.builder("seed-mlp", 25, 4).workers(1, 1).build();
        SearchSettings two = one.toBuilder().workers(2, 1).build();
        SearchResult alone = Search.run(one, task, dir.resolve("one"), SearchListener.NONE);
        SearchResult together = Search.run(two, task, dir.resolve("two"), SearchListener.NONE);
        assertEquals(objectives(alone), objectives(together));
    }

    @Test
    void explicitCandidatesRunTheirOwnConfigurationAndResultsSayWhichRan() throws IOException {
        NAdamWConfig custom = new NAdamWConfig("plain-adam", 0.05, 0.9, 0.999, 1e-8, false, 0, 0, 0, 1, 1, true);
        int nesterovEntry = firstNesterovEntry();
        List<Candidate> candidates = List.of(Candidate.custom("adam", custom),
                Candidate.listEntry(nesterovEntry, ListVariant.TASKSET),
                Candidate.listEntry(nesterovEntry, ListVariant.TORCH_PORT));
        Set<String> seen = ConcurrentHashMap.newKeySet();
        Trial recording = context -> {
            seen.add(context.candidate().label() + ":" + context.config().useNesterov() + ":" + context.index());
            return quadratic.run(context);
        };
        SearchResult result = Search.run(SearchSettings.builder("quadratic", 30, candidates)
                .divergence(DivergenceRule.NON_FINITE_ONLY).build(), recording, dir, SearchListener.NONE);
        assertEquals(Set.of("adam:false:-1", "taskset-" + nesterovEntry + ":false:" + nesterovEntry,
                "torch_port-" + nesterovEntry + ":true:" + nesterovEntry), seen);
        TrialResult adam = result.trials().stream().filter(t -> t.label().equals("adam")).findFirst().orElseThrow();
        assertEquals(custom, adam.config());
        assertEquals(Candidate.CUSTOM, adam.index());
        TrialResult taskset = result.trials().stream().filter(t -> t.variant() == ListVariant.TASKSET
                && t.index() == nesterovEntry).findFirst().orElseThrow();
        assertEquals(OptList.config(nesterovEntry, ListVariant.TASKSET), taskset.config());
        // the configuration that ran survives the round trip through results.jsonl, and the CSV has its columns
        assertEquals(result.trials(), SearchReport.rebuild(dir).trials());
        String csv = Files.readString(dir.resolve("results.csv"));
        assertTrue(csv.startsWith("label,index,name,variant,status,objective"), csv);
        assertTrue(csv.contains("useNesterov"), csv);
        assertTrue(SearchReport.table(result).contains("TORCH_PORT"));
    }

    @Test
    void duplicateCandidateLabelsAreRefused() {
        List<Candidate> twice = List.of(Candidate.listEntry(0, ListVariant.TASKSET),
                Candidate.listEntry(0, ListVariant.TASKSET));
        var e = assertThrows(IllegalArgumentException.class, () -> SearchSettings.builder("t", 10, twice).build());
        assertTrue(e.getMessage().contains("taskset-0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Candidate("x", 0, ListVariant.TASKSET,
                OptList.config(1)));
    }

    @Test
    void aCandidateOfAnIndexOutsideTheListIsRefusedWithTheListsMessage() {
        NAdamWConfig entry = OptList.config(0);
        for (int idx : new int[]{-2, 1000}) {
            var e = assertThrows(IllegalArgumentException.class, () -> new Candidate("x", idx, ListVariant.TASKSET,
                    entry));
            assertEquals("idx must be in [0, 1000), got " + idx, e.getMessage());
        }
    }

    @Test
    void aListEntrysLabelIsReservedForThatEntryUnderThatVariant() {
        NAdamWConfig adam = NAdamWConfig.adam(1e-3);
        var custom = assertThrows(IllegalArgumentException.class, () -> Candidate.custom("taskset-3", adam));
        assertTrue(custom.getMessage().contains("label 'taskset-3' names list entry 3 under TASKSET"),
                custom.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Candidate("torch_port-3", 3, ListVariant.TASKSET,
                OptList.config(3, ListVariant.TASKSET)));
        assertThrows(IllegalArgumentException.class, () -> new Candidate("taskset-4", 3, ListVariant.TASKSET,
                OptList.config(3, ListVariant.TASKSET)));
        // labels that only look alike stay free
        assertEquals("taskset-3b", Candidate.custom("taskset-3b", adam).label());
        assertEquals("my-taskset-3", new Candidate("my-taskset-3", 3, ListVariant.TASKSET,
                OptList.config(3, ListVariant.TASKSET)).label());
    }

    static int firstNesterovEntry() {
        for (int i = 0; ; i++) {
            if (OptList.config(i).useNesterov()) {
                return i;
            }
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> SearchSettings.of("t", 0, 3));
        assertThrows(IllegalArgumentException.class, () -> SearchSettings.of("t", 10, 0));
        assertThrows(IllegalArgumentException.class, () -> SearchSettings.builder("t", 10, 3).start(999).build());
        assertThrows(IllegalArgumentException.class, () -> SearchSettings.of(" ", 10, 3));
        assertThrows(IllegalArgumentException.class, () -> SearchSettings.builder("t", 10, 3).workers(0, 0).build());
        assertThrows(IllegalArgumentException.class, () -> Shard.parse("3/3"));
        assertThrows(IllegalArgumentException.class, () -> Shard.parse("two of three"));
        assertThrows(IllegalArgumentException.class, () -> new DivergenceRule(0.5, 0));
    }

    static List<String> objectives(SearchResult result) {
        return result.trials().stream().map(r -> r.index() + ":" + r.status() + ":"
                + Double.doubleToRawLongBits(r.objective())).toList();
    }
}
