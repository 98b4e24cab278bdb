package io.github.optlist.reproduce;

import io.github.optlist.reproduce.ReproduceResult.Method;
import io.github.optlist.reproduce.ReproduceResult.Row;
import io.github.optlist.ListVariant;
import io.github.optlist.search.QuadraticTrial;
import io.github.optlist.search.Search;
import io.github.optlist.search.SearchListener;
import io.github.optlist.search.SearchSettings;
import io.github.optlist.search.Trial;
import io.github.optlist.search.TrialResult;
import io.github.optlist.search.TrialStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReproduceTest {

    @TempDir
    Path dir;

    final Set<String> ran = ConcurrentHashMap.newKeySet();

    /** Fits a vector to a target with the trial's optimizer, recording what ran. */
    final Trial quadratic = QuadraticTrial.of(context -> ran.add(context.candidate().label()));

    static ReproduceSettings quick() {
        return ReproduceSettings.quick().withWorkers(2, 1);
    }

    /** A trial that trains nothing: its objective is a fixed function of the method, for verdicts known ahead. */
    static Trial fixed(double list, double pool, double adam) {
        return context -> {
            if (context.config().learningRate() == 0) {
                return 10.0;
            }
            if (context.index() < 0) {
                return adam;
            }
            return context.index() < Reproduce.K ? list : pool;
        };
    }

    @Test
    void quickRunWritesEveryTrialThePlotAndTheSummaryAndResumesWithoutRerunning() throws IOException {
        List<ReproduceTask> tasks = List.of(new ReproduceTask("quad-a", 40, quadratic),
                new ReproduceTask("quad-b", 40, quadratic));
        ReproduceResult result = Reproduce.run(quick(), tasks, dir, SearchListener.NONE);
        Protocol protocol = Protocol.of(quick());
        assertEquals(2 * protocol.slots().size(), result.trials().size());
        long reused = IntStream.range(0, Reproduce.K).filter(Protocol::sameUnderBothVariants).count();
        assertEquals(2 * reused, result.trials().stream().filter(r -> !r.reusedFrom().isEmpty()).count());
        assertTrue(result.trials().stream().filter(r -> r.method() != Method.INIT)
                .allMatch(r -> r.score() >= 0 && r.score() <= 1), "scores in [0, 1]");
        assertTrue(result.trials().stream().filter(r -> r.method() != Method.INIT).anyMatch(r -> r.score() == 0),
                "the best trial of a task scores 0");
        assertEquals(protocol.planned().stream().map(c -> c.label()).collect(java.util.stream.Collectors.toSet()), ran,
                "every planned candidate ran (both tasks share the labels)");
        for (String file : new String[]{"summary.md", "reproduce.png", "trials.csv", "trials.jsonl"}) {
            assertTrue(Files.size(dir.resolve(file)) > 0, file);
        }
        byte[] png = Files.readAllBytes(dir.resolve("reproduce.png"));
        assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        List<String> csv = Files.readAllLines(dir.resolve("trials.csv"));
        assertTrue(csv.get(0).startsWith("task,method,rank,score,reusedFrom,label,index,name,variant,status"),
                csv.get(0));
        assertEquals(1 + result.trials().size(), csv.size());
        String summary = Files.readString(dir.resolve("summary.md"));
        assertTrue(summary.contains("plumbing"), "a quick run says its figures mean nothing");
        assertTrue(summary.contains("epsilon hat"));

        ran.clear();
        ReproduceResult again = Reproduce.run(quick(), tasks, dir, SearchListener.NONE);
        assertEquals(Set.of(), ran, "a finished run re-runs nothing");
        assertEquals(result.trials(), again.trials());
    }

    @Test
    void killedRunContinuesWithTheMissingTrialsOnly() throws IOException {
        List<ReproduceTask> dying = List.of(new ReproduceTask("quad", 20, context -> {
            if (context.index() == 5 && context.variant() == ListVariant.TASKSET) {
                throw new KilledProcess();
            }
            return quadratic.run(context);
        }));
        assertThrows(IllegalStateException.class, () -> Reproduce.run(quick().withWorkers(1, 1), dying, dir,
                SearchListener.NONE));
        Set<String> before = Set.copyOf(ran);
        ran.clear();
        int[] counts = new int[2];
        SearchListener counting = new SearchListener() {
            @Override
            public void searchStarted(int pending, int finished) {
                counts[0] = pending;
                counts[1] = finished;
            }
        };
        Reproduce.run(quick(), List.of(new ReproduceTask("quad", 20, quadratic)), dir, counting);
        assertTrue(ran.contains("taskset-5"));
        assertTrue(ran.stream().noneMatch(before::contains), "nothing finished before ran again");
        assertEquals(before.size(), counts[1], "the trials finished before the kill, not the one it cut");
        assertEquals(Protocol.of(quick()).planned().size(), counts[0] + counts[1]);
    }

    static final class KilledProcess extends Error {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void verdictsFollowTheFigures() throws IOException {
        ReproduceResult listWins = Reproduce.run(quick(), List.of(new ReproduceTask("wins", 5, fixed(1, 2, 3))),
                dir.resolve("wins"), SearchListener.NONE);
        assertEquals(List.of(), listWins.mean().kWhereListTrailsRandom(ListVariant.TASKSET));
        String wins = Files.readString(dir.resolve("wins/summary.md"));
        assertTrue(wins.contains("**(A) held, TASKSET:**"), wins);
        assertTrue(wins.contains("**(B) held, TASKSET:**"), wins);
        assertTrue(wins.contains("on 1 of 1 tasks (wins)"), wins);

        ReproduceResult listLoses = Reproduce.run(quick(), List.of(new ReproduceTask("loses", 5, fixed(2, 1, 3))),
                dir.resolve("loses"), SearchListener.NONE);
        assertEquals(IntStream.rangeClosed(1, Reproduce.K).boxed().toList(),
                listLoses.mean().kWhereListTrailsRandom(ListVariant.TASKSET));
        String loses = Files.readString(dir.resolve("loses/summary.md"));
        assertTrue(loses.contains("**(A) did not hold, TASKSET:**"), loses);
        assertTrue(loses.contains("**(B) did not hold, TASKSET:**"), loses);
        assertTrue(loses.contains("on 0 of 1 tasks; above it on loses"), loses);
        assertTrue(loses.contains("**Adam lr 1e-3:** mean score 0.222. The list (TASKSET) reached it at best-of-1"),
                loses);
        // list 2, pool 1, Adam 3, init 10: L* = 1, so the list scores 1/9 and Adam 2/9
        assertEquals(1.0 / 9, listLoses.tasks().get(0).bestOfK().list(ListVariant.TASKSET, 10), 1e-12);
        assertEquals(2.0 / 9, listLoses.tasks().get(0).bestOfK().adamDefault(), 1e-12);
    }

    @Test
    void failedTrialsScoreOneAndAFailedInitializationLeavesTheTaskUnscored() throws IOException {
        Trial listFails = context -> {
            if (context.index() == 0) {
                throw new IllegalStateException("boom");
            }
            return fixed(1, 2, 3).run(context);
        };
        Trial initFails = context -> {
            if (context.config().learningRate() == 0) {
                return Double.NaN;
            }
            return fixed(1, 2, 3).run(context);
        };
        ReproduceResult result = Reproduce.run(quick(), List.of(new ReproduceTask("a", 5, listFails),
                new ReproduceTask("b", 5, initFails)), dir, SearchListener.NONE);
        Row failed = result.trials().stream().filter(r -> r.task().equals("a")
                && r.trial().label().equals("taskset-0")).findFirst().orElseThrow();
        assertEquals(TrialStatus.FAILED, failed.trial().status());
        assertEquals(1.0, failed.score());
        assertEquals(1.0, result.tasks().get(0).bestOfK().list(ListVariant.TASKSET, 1));
        assertFalse(result.tasks().get(1).scored());
        assertTrue(result.tasks().get(1).note().contains("not scored"), result.tasks().get(1).note());
        assertEquals(result.tasks().get(0).bestOfK().list(ListVariant.TASKSET), result.mean().listTaskset(),
                "the mean is over the scored task only");
    }

    @Test
    void learningRateZeroLeavesTheParametersWhereTheyStarted() throws IOException {
        Protocol protocol = Protocol.of(quick());
        TrialResult init = Search.runTrials(SearchSettings.builder("quad", 25, List.of(protocol.init())).build(),
                quadratic, dir, SearchListener.NONE).trials().get(0);
        assertEquals(QuadraticTrial.UNMOVED, init.objective(), 1e-6);
    }

    @Test
    void theProtocolHasTheListBothVariantsAPoolFromTheRestAndTheAdamGrid() {
        Protocol protocol = Protocol.of(ReproduceSettings.protocol());
        List<Protocol.Slot> pool = protocol.slots().stream().filter(s -> s.method() == Method.RANDOM).toList();
        assertEquals(30, pool.size());
        assertTrue(pool.stream().allMatch(s -> s.candidate().index() >= Reproduce.K
                && s.candidate().variant() == ListVariant.TASKSET));
        assertEquals(30, pool.stream().map(s -> s.candidate().index()).distinct().count());
        assertEquals(Protocol.pool(30, ReproduceSettings.POOL_SEED), Protocol.pool(30, ReproduceSettings.POOL_SEED));
        List<Double> grid = protocol.slots().stream().filter(s -> s.method() == Method.ADAM)
                .map(s -> s.candidate().config().learningRate()).toList();
        assertEquals(List.of(1e-4, 3e-4, 1e-3, 3e-3, 1e-2), grid);
        var adam = Protocol.adam(1e-3, "adam");
        assertEquals(List.of(0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 1.0, 1.0), List.of(adam.beta1(), adam.beta2(),
                adam.epsilon(), adam.adamwWeightDecay(), adam.l2WeightDecay(), adam.warmupFraction(),
                adam.minLearningRateMult(), adam.constantFraction()));
        assertFalse(adam.useNesterov());
        assertTrue(adam.useBiasCorrection());
        for (int i = 0; i < Reproduce.K; i++) {
            int idx = i;
            boolean reused = protocol.slots().stream().anyMatch(s -> s.method() == Method.LIST_TORCH_PORT
                    && s.rank() == idx && !s.reusedFrom().isEmpty());
            assertEquals(Protocol.sameUnderBothVariants(i), reused, "entry " + i);
        }
    }

    @Test
    void badSettingsAndTasksAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ReproduceSettings(0, 9, 1, 0,
                io.github.optlist.search.DivergenceRule.DEFAULT, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> ReproduceSettings.quick().withWorkers(0, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> new ReproduceTask("my task", 10, quadratic));
        assertTrue(e.getMessage().contains("'my task'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ReproduceTask("t", 0, quadratic));
        var twice = assertThrows(IllegalArgumentException.class, () -> Reproduce.run(quick(),
                List.of(new ReproduceTask("t", 5, quadratic), new ReproduceTask("t", 5, quadratic)), dir,
                SearchListener.NONE));
        assertTrue(twice.getMessage().contains("'t' appears twice"), twice.getMessage());
    }

    @Test
    void refusedRunLeavesEveryTaskFolderAsItWasAndRunsNothing() throws IOException {
        Trial counting = context -> {
            ran.add(context.candidate().label());
            return fixed(1, 2, 3).run(context);
        };
        List<ReproduceTask> tasks = List.of(new ReproduceTask("a", 5, counting), new ReproduceTask("b", 5, counting));
        Reproduce.run(quick(), tasks, dir, SearchListener.NONE);
        Path b = dir.resolve("tasks/b/results.jsonl");
        // b's folder alone was written by an earlier version with another seed: a's matches the request, b's not
        Files.delete(dir.resolve("tasks/b/study.db"));
        Files.writeString(b, Files.readString(b).replaceFirst("\"seed\":0", "\"seed\":7")
                + "{\"label\":\"torn", java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
        byte[] aBefore = Files.readAllBytes(dir.resolve("tasks/a/results.jsonl"));
        byte[] bBefore = Files.readAllBytes(b);
        byte[] summary = Files.readAllBytes(dir.resolve("summary.md"));
        ran.clear();
        var e = assertThrows(IllegalArgumentException.class, () -> Reproduce.run(quick(), tasks, dir,
                SearchListener.NONE));
        assertTrue(e.getMessage().contains("seed 7 vs 0"), e.getMessage());
        assertEquals(Set.of(), ran, "no trial of task a ran before b's folder was refused");
        assertArrayEquals(aBefore, Files.readAllBytes(dir.resolve("tasks/a/results.jsonl")));
        assertArrayEquals(bBefore, Files.readAllBytes(b));
        assertArrayEquals(summary, Files.readAllBytes(dir.resolve("summary.md")));
    }

    @Test
    void secondRunOnOneFolderIsRefusedWhileTheFirstHoldsIt() throws IOException {
        try (var held = io.github.optlist.internal.FolderLock.acquire(dir, "reproduce")) {
            var e = assertThrows(io.github.optlist.internal.FolderLockedException.class, () -> Reproduce.run(quick(),
                    List.of(new ReproduceTask("a", 5, quadratic)), dir, SearchListener.NONE));
            assertTrue(e.getMessage().contains("in use by reproduce (pid " + ProcessHandle.current().pid()),
                    e.getMessage());
        }
        assertEquals(Set.of(), ran);
        assertFalse(Files.exists(dir.resolve("tasks")));
    }
}
