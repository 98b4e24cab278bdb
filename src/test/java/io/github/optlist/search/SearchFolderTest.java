package io.github.optlist.search;

import io.github.optlist.internal.Messages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import static org.bytedeco.openblas.global.openblas_nolapack.blas_get_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a results folder keeps: merged reports, resumes checked before writing, files named, errors explained. */
class SearchFolderTest {

    @TempDir
    Path dir;

    final Set<Integer> ran = ConcurrentHashMap.newKeySet();

    /** A trial that trains nothing, objective 0.5 + its index, recording what ran. */
    final Trial fixed = context -> {
        ran.add(context.index());
        context.reportLoss(0, 1.0);
        return 0.5 + context.index();
    };

    static SearchSettings settings(int trials) {
        return SearchSettings.builder("fixed", 2, trials).build();
    }

    static List<Integer> indices(SearchResult result) {
        return result.trials().stream().map(TrialResult::index).toList();
    }

    @Test
    void reportKeepsTrialsAnUnshardedRunAddedAfterTheShards() throws IOException {
        for (int i = 0; i < 2; i++) {
            Search.run(settings(4).toBuilder().shard(new Shard(i, 2)).build(), fixed, dir, SearchListener.NONE);
        }
        assertEquals(List.of(0, 1, 2, 3), indices(SearchReport.rebuild(dir)));
        ran.clear();
        SearchResult eight = Search.run(settings(8), fixed, dir, SearchListener.NONE);
        assertEquals(Set.of(4, 5, 6, 7), ran, "the unsharded run resumed from the report's results.jsonl");
        assertEquals(8, eight.trials().size());

        SearchResult report = SearchReport.rebuild(dir);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), indices(report), "8 trials, not the shards' 4");
        assertEquals(9, Files.readAllLines(dir.resolve("results.jsonl")).size(), "header and 8 trials");
        assertEquals(9, Files.readAllLines(dir.resolve("results.csv")).size());
        IntStream.range(0, 8).forEach(i -> assertEquals(0.5 + i, report.trials().get(i).objective()));
    }

    @Test
    void reportRefusesTwoDifferentResultsForOneTrialNamingBothFiles() throws IOException {
        for (int i = 0; i < 2; i++) {
            Search.run(settings(4).toBuilder().shard(new Shard(i, 2)).build(), fixed, dir, SearchListener.NONE);
        }
        SearchReport.rebuild(dir);
        Path jsonl = dir.resolve("results.jsonl");
        // trial 2's objective, 2.5, edited in the report's file only
        Files.writeString(jsonl, Files.readString(jsonl).replace("\"objective\":2.5", "\"objective\":9.5"));
        byte[] before = Files.readAllBytes(jsonl);
        var e = assertThrows(IllegalArgumentException.class, () -> SearchReport.rebuild(dir));
        assertTrue(e.getMessage().contains("trial taskset-2 has two different results"), e.getMessage());
        assertTrue(e.getMessage().contains(jsonl.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(dir.resolve("results.shard-0-of-2.jsonl").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("objective 9.5") && e.getMessage().contains("objective 2.5"),
                e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(jsonl), "a refused report writes nothing");
    }

    @Test
    void refusedResumeLeavesResultsByteIdenticalTornLastLineIncluded() throws IOException {
        Search.run(settings(2), fixed, dir, SearchListener.NONE);
        Path jsonl = dir.resolve("results.jsonl");
        Files.writeString(jsonl, "{\"label\":\"taskset-7\",\"in", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        byte[] lines = Files.readAllBytes(jsonl);
        byte[] csv = Files.readAllBytes(dir.resolve("results.csv"));
        ran.clear();
        var e = assertThrows(IllegalArgumentException.class, () -> Search.run(SearchSettings.builder("other", 2, 2)
                .build(), fixed, dir, SearchListener.NONE));
        assertTrue(e.getMessage().contains("task fixed vs other"), e.getMessage());
        assertArrayEquals(lines, Files.readAllBytes(jsonl));
        assertArrayEquals(csv, Files.readAllBytes(dir.resolve("results.csv")));
        assertEquals(Set.of(), ran);
        // an accepted resume then cuts the torn line and goes on
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        assertEquals(Set.of(2), ran);
        assertTrue(Files.readString(jsonl).endsWith("}\n"));
    }

    @Test
    void emptyShardNamesOnlyTheFilesItWrote() throws IOException {
        SearchResult empty = Search.run(settings(2).toBuilder().shard(new Shard(3, 4)).build(), fixed, dir,
                SearchListener.NONE);
        assertEquals(List.of(), empty.trials());
        assertEquals(List.of(dir.resolve("results.shard-3-of-4.jsonl")), empty.files());
        empty.files().forEach(f -> assertTrue(Files.exists(f), f.toString()));
        SearchResult full = Search.run(settings(2).toBuilder().shard(new Shard(1, 4)).build(), fixed, dir,
                SearchListener.NONE);
        assertEquals(List.of(dir.resolve("results.shard-1-of-4.csv"), dir.resolve("results.shard-1-of-4.jsonl")),
                full.files());
        full.files().forEach(f -> assertTrue(Files.exists(f), f.toString()));
    }

    @Test
    void corruptResultsLineNamesTheFileItsLineAndWhatToDo() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        Path jsonl = dir.resolve("results.jsonl");
        List<String> lines = new ArrayList<>(Files.readAllLines(jsonl));
        lines.set(2, "{\"label\":\"taskset-1\", oops}");
        Files.write(jsonl, lines);
        byte[] before = Files.readAllBytes(jsonl);
        var e = assertThrows(IllegalArgumentException.class, () -> Search.run(settings(3), fixed, dir,
                SearchListener.NONE));
        assertTrue(e.getMessage().startsWith(jsonl + " line 3 is not a trial result ("), e.getMessage());
        assertTrue(e.getMessage().contains("repair or delete that line"), e.getMessage());
        assertTrue(!e.getMessage().contains("column:"), "Jackson's in-line location is left out: " + e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(jsonl));
        var report = assertThrows(IllegalArgumentException.class, () -> SearchReport.rebuild(dir));
        assertTrue(report.getMessage().startsWith(jsonl + " line 3 "), report.getMessage());
    }

    @Test
    void ioErrorNamesTheOperationThePathAndTheCause() throws IOException {
        Path inTheWay = dir.resolve("results.csv");
        Files.createDirectories(inTheWay.resolve("x"));
        var e = assertThrows(IOException.class, () -> Search.run(settings(1), fixed, dir, SearchListener.NONE));
        assertTrue(e.getMessage().startsWith("cannot save the results to " + inTheWay + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("Is a directory") || e.getMessage().contains("not empty"), e.getMessage());
        assertTrue(Files.isDirectory(inTheWay.resolve("x")), "what was in the way is left alone");
        // Java's own message for a full disk has no path
        IOException full = Messages.ioFailure("append to", Path.of("/runs/a/results.jsonl"),
                new IOException("No space left on device"));
        assertEquals("cannot append to /runs/a/results.jsonl: No space left on device", full.getMessage());
        IOException missing = Messages.ioFailure("read", Path.of("afile"),
                new java.nio.file.NoSuchFileException("afile"));
        assertEquals("cannot read afile: no such file or folder", missing.getMessage());
    }

    @Test
    void settingMessagesNameTheFieldForApiUsers() {
        var steps = assertThrows(SettingException.class, () -> SearchSettings.of("t", 0, 3));
        assertEquals("trainingSteps must be > 0, got 0", steps.getMessage());
        assertEquals("--steps must be > 0, got 0", steps.message(n -> n.equals("trainingSteps") ? "--steps" : n));
        var trials = assertThrows(SettingException.class, () -> SearchSettings.builder("t", 5, 7).start(995).build());
        assertEquals("trials must be in [1, 5] from start 995, got 7", trials.getMessage());
        assertEquals("--trials must be in [1, 5] from --start 995, got 7", trials.message(n -> "--" + n));
        var threads = assertThrows(SettingException.class,
                () -> SearchSettings.builder("t", 5, 1).workers(1, -1).build());
        assertEquals("threadsPerWorker", threads.setting());
        assertThrows(SettingException.class, () -> SearchSettings.builder("t", 5, 1).blasThreads(-1).build());
    }

    @Test
    void openBlasThreadsAreLeftAloneByDefaultAndOtherwiseSetForTheSearchAndPutBack() throws IOException {
        blas_set_num_threads(2);
        try {
            List<Integer> seen = new ArrayList<>();
            Trial recording = context -> {
                synchronized (seen) {
                    seen.add(blas_get_num_threads());
                }
                return 1.0;
            };
            Search.run(settings(1), recording, dir.resolve("default"), SearchListener.NONE);
            Search.run(settings(1).toBuilder().blasThreads(1).build(), recording, dir.resolve("one"),
                    SearchListener.NONE);
            assertEquals(List.of(2, 1), seen);
            assertEquals(2, blas_get_num_threads(), "put back after the search");
        } finally {
            blas_set_num_threads(Runtime.getRuntime().availableProcessors());
        }
    }
}
