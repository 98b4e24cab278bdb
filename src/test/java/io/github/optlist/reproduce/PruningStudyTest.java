package io.github.optlist.reproduce;

import io.github.optlist.search.SearchListener;
import io.github.optlist.internal.SettingException;

import io.github.optlist.search.Trial;
import io.github.optlist.search.TrialStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PruningStudyTest {

    @TempDir
    Path dir;

    final Set<String> ran = ConcurrentHashMap.newKeySet();

    /**
     * Reports a flat loss of 1 + (index mod 7) at every step and returns it (custom candidates: 1); every 8th list
     * entry from 3 on reports 100 at its last step instead, and diverges there.
     */
    final Trial flat = context -> {
        ran.add(context.seed() + "/" + context.candidate().label());
        double loss = context.index() < 0 ? 1 : 1 + context.index() % 7;
        for (long step = 0; step < context.trainingSteps(); step++) {
            boolean spike = context.index() % 8 == 3 && step == context.trainingSteps() - 1;
            context.reportLoss(step, spike ? 100 : loss);
        }
        return loss;
    };

    static ReproduceSettings settings() {
        return ReproduceSettings.quick().withWorkers(1, 1).withPruningSeeds(2);
    }

    @Test
    void theStudyTrainsEveryEntryAtEverySeedOnceAndReplaysItsFullCurves() throws IOException {
        ReproduceResult result = Reproduce.run(settings(), List.of(new ReproduceTask("flat", 20, flat)), dir,
                SearchListener.NONE);
        assertTrue(result.files().contains(dir.resolve("pruning.md")));
        for (long seed : new long[]{0, 1}) {
            Path folder = dir.resolve("pruning/flat/seed-" + seed);
            assertEquals(PruningStudy.ENTRIES, Files.readAllLines(folder.resolve("curves.jsonl")).size());
            var curves = PruningStudy.readCurves(folder.resolve("curves.jsonl"));
            // every step's loss, not the thinned curve of the results
            assertEquals(20, curves.get("taskset-3").losses().length);
            assertEquals(100.0, curves.get("taskset-3").losses()[19], 0.0);
        }
        List<String> csv = Files.readAllLines(dir.resolve("pruning.csv"));
        assertEquals(1 + 2 * PruningStudy.ENTRIES, csv.size());
        // 20 steps: warm-up 2, window 1. Entry 3 diverges at its last step (100 > 10 x 4), so the five startup
        // trials are entries 0-2, 4 and 5 (losses 1, 2, 3, 5, 6; median 3): entry 6 (7) is pruned at step 2, after
        // 3 steps; entry 7 (1) completes; entry 11, which diverged at its end, is pruned at step 2 before that
        assertTrue(csv.contains("flat,0,taskset-3,DIVERGED,NaN,DIVERGED,-1,20"), csv.toString());
        assertTrue(csv.contains("flat,0,taskset-5,OK,6.0,OK,-1,20"), csv.toString());
        assertTrue(csv.contains("flat,0,taskset-6,OK,7.0,PRUNED,2,3"), csv.toString());
        assertTrue(csv.contains("flat,0,taskset-7,OK,1.0,OK,-1,20"), csv.toString());
        assertTrue(csv.contains("flat,1,taskset-11,DIVERGED,NaN,PRUNED,2,3"), csv.toString());
        String md = Files.readString(dir.resolve("pruning.md"));
        assertTrue(md.contains("plumbing"), "a quick run says its figures mean nothing");
        assertTrue(md.contains("| flat | 20 |"), md);

        ran.clear();
        Reproduce.run(settings(), List.of(new ReproduceTask("flat", 20, flat)), dir, SearchListener.NONE);
        assertEquals(Set.of(), ran, "a finished study trains nothing again");
    }

    @Test
    void aFinishedTrialWithoutItsCurveIsRefusedNamingTheFolderToDelete() throws IOException {
        Reproduce.run(settings(), List.of(new ReproduceTask("flat", 20, flat)), dir, SearchListener.NONE);
        Path curves = dir.resolve("pruning/flat/seed-1/curves.jsonl");
        List<String> lines = Files.readAllLines(curves);
        // a kill as trial taskset-29 ended: its result was written, its curve line cut
        String last = lines.get(lines.size() - 1);
        lines.set(lines.size() - 1, last.substring(0, last.length() / 2));
        Files.write(curves, lines);
        var e = assertThrows(IllegalStateException.class, () -> Reproduce.run(settings(),
                List.of(new ReproduceTask("flat", 20, flat)), dir, SearchListener.NONE));
        assertTrue(e.getMessage().contains("taskset-29") && e.getMessage().contains(dir.resolve(
                "pruning/flat/seed-1").toString()) && e.getMessage().contains("delete"), e.getMessage());
    }

    @Test
    void aSeedCountOutsideZeroToAHundredIsRefusedNamingIt() {
        for (int bad : new int[]{-1, 101}) {
            var e = assertThrows(SettingException.class,
                    () -> ReproduceSettings.quick().withPruningSeeds(bad));
            assertEquals("pruningSeeds", e.setting());
        }
        assertEquals(0, ReproduceSettings.protocol().pruningSeeds(), "library runs train no study unless asked");
    }

    @Test
    void theRecordedStatusIsKeptForTrialsThePrunerLetsThrough() {
        var recorded = List.of(new PruningReplay.Recorded("a", TrialStatus.FAILED, Double.NaN, new long[]{0},
                new double[]{1}));
        var out = PruningReplay.replay(recorded, 10, io.github.optlist.search.PrunerSettings.median());
        assertEquals(TrialStatus.FAILED, out.get(0).status());
        assertEquals(1, out.get(0).cost());
    }
}
