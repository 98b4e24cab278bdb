package io.github.optlist.search;

import io.github.optlist.internal.SettingException;
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
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

import static org.bytedeco.openblas.global.openblas_nolapack.blas_get_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a search folder keeps: an earlier version's results files imported into the study, checked before anything is
 * written, merged by report; files named, errors explained.
 */
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

    /** Makes a search folder an earlier version's: its results files without the study. */
    static void legacy(Path folder) throws IOException {
        Files.deleteIfExists(folder.resolve(Study.FILE));
    }

    /**
     * Writes shard {@code shard} of {@code count} of a search of {@code trials} list indices into {@code folder} as an
     * earlier version did: {@code results.shard-I-of-N.jsonl}, its header naming the shard, its trials those with
     * {@code idx % count == shard}.
     */
    void writeShard(Path folder, int shard, int count, int trials) throws IOException {
        Path scratch = Files.createTempDirectory(dir, "shard");
        SearchResult all = Search.run(settings(trials), fixed, scratch, SearchListener.NONE);
        List<TrialResult> mine = all.trials().stream().filter(r -> r.index() % count == shard).toList();
        Files.createDirectories(folder);
        ResultsFile.writeJsonl(folder.resolve("results.shard-" + shard + "-of-" + count + ".jsonl"),
                ResultsHeader.of(settings(trials)).withShard(new Shard(shard, count)), mine);
    }

    static List<Integer> indices(SearchResult result) {
        return result.trials().stream().map(TrialResult::index).toList();
    }

    @Test
    void anEarlierVersionsShardsAreImportedAndTheSearchGoesOnWithoutRerunningThem() throws IOException {
        for (int i = 0; i < 2; i++) {
            writeShard(dir, i, 2, 4);
        }
        assertEquals(List.of(0, 1, 2, 3), indices(SearchReport.rebuild(dir)), "report merges an earlier version's"
                + " shards");
        ran.clear();
        SearchResult eight = Search.run(settings(8), fixed, dir, SearchListener.NONE);
        assertEquals(Set.of(4, 5, 6, 7), ran, "the shards' trials were imported, not run again");
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), indices(eight));
        assertTrue(Files.exists(dir.resolve(Study.FILE)));
        assertEquals(9, Files.readAllLines(dir.resolve("results.jsonl")).size(), "header and 8 trials");
        assertEquals(9, Files.readAllLines(dir.resolve("results.csv")).size());
        IntStream.range(0, 8).forEach(i -> assertEquals(0.5 + i, eight.trials().get(i).objective()));
        SearchResult report = SearchReport.rebuild(dir);
        assertEquals(eight.trials(), report.trials(), "report exports the study");
    }

    @Test
    void reportRefusesTwoDifferentResultsForOneTrialNamingBothFiles() throws IOException {
        for (int i = 0; i < 2; i++) {
            writeShard(dir, i, 2, 4);
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
    void refusedImportLeavesResultsByteIdenticalTornLastLineIncluded() throws IOException {
        Search.run(settings(2), fixed, dir, SearchListener.NONE);
        legacy(dir);
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
        assertTrue(!Files.exists(dir.resolve(Study.FILE)), "no study was created");
        // an accepted import ignores the torn line and goes on
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        assertEquals(Set.of(2), ran);
        assertTrue(Files.readString(jsonl).endsWith("}\n"));
    }

    @Test
    void corruptResultsLineNamesTheFileItsLineAndWhatToDo() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        legacy(dir);
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

    /** Replaces line {@code line} (1-based, 1 the header) of {@code jsonl} with {@code edit}'s version of it. */
    static void editLine(Path jsonl, int line, UnaryOperator<String> edit) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(jsonl));
        String edited = edit.apply(lines.get(line - 1));
        assertNotEquals(lines.get(line - 1), edited, "the edit applies");
        lines.set(line - 1, edited);
        Files.write(jsonl, lines);
    }

    /**
     * Checks that importing {@code folder} (made an earlier version's) into a search of {@code settings} is refused
     * naming {@code folder}'s results.jsonl, line {@code line} and {@code what}, runs no trial, creates no study and
     * leaves the results byte for byte as they were.
     */
    void assertResumeRefused(Path folder, SearchSettings settings, int line, String what) throws IOException {
        legacy(folder);
        Path jsonl = folder.resolve("results.jsonl");
        byte[] lines = Files.readAllBytes(jsonl);
        byte[] csv = Files.readAllBytes(folder.resolve("results.csv"));
        ran.clear();
        var e = assertThrows(IllegalArgumentException.class, () -> Search.run(settings, fixed, folder,
                SearchListener.NONE));
        assertTrue(e.getMessage().startsWith(jsonl + " line " + line + " "), e.getMessage());
        assertTrue(e.getMessage().contains(what), e.getMessage());
        assertEquals(Set.of(), ran, "no trial ran");
        assertArrayEquals(lines, Files.readAllBytes(jsonl));
        assertArrayEquals(csv, Files.readAllBytes(folder.resolve("results.csv")));
        assertTrue(!Files.exists(folder.resolve(Study.FILE)), "no study was created");
    }

    /** Checks that {@code report} refuses {@code folder} (an earlier version's) as an import does, writing nothing. */
    static void assertReportRefused(Path folder, int line, String what) throws IOException {
        legacy(folder);
        Path jsonl = folder.resolve("results.jsonl");
        byte[] lines = Files.readAllBytes(jsonl);
        var e = assertThrows(IllegalArgumentException.class, () -> SearchReport.rebuild(folder));
        assertTrue(e.getMessage().startsWith(jsonl + " line " + line + " "), e.getMessage());
        assertTrue(e.getMessage().contains(what), e.getMessage());
        assertArrayEquals(lines, Files.readAllBytes(jsonl));
    }

    @Test
    void twoResultsForOneTrialInOneFileAreRefusedNamingBothLines() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        Path jsonl = dir.resolve("results.jsonl");
        // line 3 is trial taskset-1 (objective 1.5); a second result for it, as if appended by hand
        String second = Files.readAllLines(jsonl).get(2).replace("\"objective\":1.5", "\"objective\":9.5");
        Files.writeString(jsonl, second + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertResumeRefused(dir, settings(3), 5, "a second result for trial taskset-1 (line 3 has the first)");
        assertReportRefused(dir, 5, "a second result for trial taskset-1 (line 3 has the first)");
    }

    @Test
    void aNullOrFractionalNumberIsRefusedRatherThanReadAsZeroOrRounded() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        editLine(dir.resolve("results.jsonl"), 3, l -> l.replace("\"objective\":1.5", "\"objective\":null"));
        assertResumeRefused(dir, settings(3), 3, "is not a trial result (Cannot map `null` into type `double`");
        assertReportRefused(dir, 3, "is not a trial result");

        Path fraction = dir.resolve("fraction");
        Search.run(settings(3), fixed, fraction, SearchListener.NONE);
        editLine(fraction.resolve("results.jsonl"), 3, l -> l.replace("\"index\":1,", "\"index\":1.5,"));
        assertResumeRefused(fraction, settings(3), 3, "is not a trial result");
        assertReportRefused(fraction, 3, "is not a trial result");
    }

    @Test
    void anIndexOutsideTheListIsRefused() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        editLine(dir.resolve("results.jsonl"), 3, l -> l.replace("\"index\":1,", "\"index\":-7,"));
        assertResumeRefused(dir, settings(3), 3, "index -7");
        assertReportRefused(dir, 3, "index -7");
    }

    @Test
    void aTrialOutsideTheSearchIsImportedNotRun() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        legacy(dir);
        Path other = dir.resolve("other");
        Search.run(settings(1).toBuilder().start(999).build(), fixed, other, SearchListener.NONE);
        // list entry 999's line, whole and consistent, copied from another folder of the same search settings
        String entry999 = Files.readAllLines(other.resolve("results.jsonl")).get(1);
        Files.writeString(dir.resolve("results.jsonl"), entry999 + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        ran.clear();
        SearchResult result = Search.run(settings(3), fixed, dir, SearchListener.NONE);
        assertEquals(Set.of(), ran);
        assertEquals(List.of(0, 1, 2, 999), indices(result), "a trial of the study is kept, whatever its index");
    }

    @Test
    void aLineOfTheOtherVariantIsRefused() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        Path jsonl = dir.resolve("results.jsonl");
        // entry 0 runs the same configuration under both variants (it has no Nesterov): only the variant is edited
        editLine(jsonl, 2, l -> l.replace("\"variant\":\"TASKSET\"", "\"variant\":\"TORCH_PORT\""));
        assertResumeRefused(dir, settings(3), 2, "TORCH_PORT");
        assertReportRefused(dir, 2, "TORCH_PORT");

    }

    @Test
    void aChangedConfigurationIsRefused() throws IOException {
        Search.run(settings(3), fixed, dir, SearchListener.NONE);
        editLine(dir.resolve("results.jsonl"), 3, l -> l.replaceFirst("\"learningRate\":[^,]+",
                "\"learningRate\":0.5"));
        assertResumeRefused(dir, settings(3), 3, "learningRate 0.5 vs ");
        assertReportRefused(dir, 3, "learningRate 0.5 vs ");

        // a custom configuration is known only to the search: its resume refuses the change
        Path custom = dir.resolve("custom");
        SearchSettings adam = SearchSettings.builder("fixed", 2, List.of(Candidate.custom("adam",
                io.github.optlist.NAdamWConfig.adam(0.01)))).build();
        Search.run(adam, fixed, custom, SearchListener.NONE);
        editLine(custom.resolve("results.jsonl"), 2, l -> l.replaceFirst("\"learningRate\":0.01",
                "\"learningRate\":0.5"));
        legacy(custom);
        var e = assertThrows(IllegalArgumentException.class, () -> Search.run(adam, fixed, custom,
                SearchListener.NONE));
        assertEquals(custom + " holds trial adam other than this search runs it (configuration learningRate 0.5 vs"
                + " 0.01): search with the same candidates, or write to another folder", e.getMessage());
    }

    @Test
    void aStudyWhoseSettingsWereEditedIsRefusedNamingTheSettingNotExported() throws Exception {
        Search.run(settings(2), fixed, dir, SearchListener.NONE);
        Path out = dir.resolve("export");
        String jdbc = "jdbc:sqlite:" + dir.resolve(Study.FILE);
        try (var c = java.sql.DriverManager.getConnection(jdbc); var s = c.createStatement()) {
            s.executeUpdate("UPDATE study_user_attributes SET value_json = '\"SIDEWAYS\"' WHERE key = 'direction'");
        }
        var e = assertThrows(IllegalArgumentException.class, () -> SearchReport.export(Study.in(dir), out));
        assertTrue(e.getMessage().contains("holds search settings this code does not read"), e.getMessage());
        try (var c = java.sql.DriverManager.getConnection(jdbc); var s = c.createStatement()) {
            s.executeUpdate("DELETE FROM study_user_attributes WHERE key = 'seed'");
        }
        var missing = assertThrows(IllegalArgumentException.class, () -> SearchReport.export(Study.in(dir), out));
        assertTrue(missing.getMessage().endsWith("lacks the search setting 'seed'"), missing.getMessage());
        assertTrue(!Files.exists(out.resolve("results.csv")), "nothing exported");
    }

    @Test
    void aFolderWhereAResultsFileShouldBeIsRefusedNamingIt() throws IOException {
        Files.createDirectories(dir.resolve("results.jsonl"));
        var report = assertThrows(IllegalArgumentException.class, () -> SearchReport.rebuild(dir));
        assertEquals(dir.resolve("results.jsonl") + " is a folder, not a results file; move it away",
                report.getMessage());
        var resume = assertThrows(IllegalArgumentException.class, () -> Search.run(settings(1), fixed, dir,
                SearchListener.NONE));
        assertEquals(report.getMessage(), resume.getMessage());
        assertTrue(Files.isDirectory(dir.resolve("results.jsonl")));
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
