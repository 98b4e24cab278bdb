package io.github.optlist.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptListCliTest {

    @TempDir
    Path dir;

    /** Runs the CLI in process, capturing standard output. */
    static String run(int expectedStatus, String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true));
        try {
            assertEquals(expectedStatus, OptListCli.execute(args), () -> Arrays.toString(args) + "\n" + captured);
        } finally {
            System.setOut(original);
        }
        return captured.toString();
    }

    @Test
    void searchEndToEndWritesTableResultsAndPlot() throws Exception {
        Path out = dir.resolve("run");
        String printed = run(0, "search", "--task", "seed-mlp", "--trials", "3", "--steps", "20", "--out",
                out.toString());
        assertTrue(printed.contains("[3/3] trial 2"), printed);
        assertTrue(printed.contains("* best"), printed);
        assertEquals(4, Files.readAllLines(out.resolve("results.csv")).size(), "header and three rows");
        assertEquals(4, Files.readAllLines(out.resolve("results.jsonl")).size(), "header and three trials");
        byte[] png = Files.readAllBytes(out.resolve("search.png"));
        assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));

        String report = run(0, "report", out.toString());
        assertTrue(report.contains("best: index"), report);
    }

    @Test
    void reproduceQuickWritesSummaryPlotAndTablesAndContinuesAfterwards() throws Exception {
        Path out = dir.resolve("reproduce");
        String printed = run(0, "reproduce", "--quick", "--tasks", "spirals", "--out", out.toString(), "--workers",
                "2", "--threads-per-worker", "1");
        assertTrue(printed.contains("task spirals (1/1), 20 steps per trial"), printed);
        assertTrue(printed.contains("trial adam-lr1e-2"), printed);
        for (String file : new String[]{"summary.md", "reproduce.png", "trials.csv", "trials.jsonl"}) {
            assertTrue(Files.size(out.resolve(file)) > 0, file);
        }
        assertTrue(Files.readString(out.resolve("summary.md")).contains("## Verdicts"));
        String again = run(0, "reproduce", "--quick", "--tasks", "spirals", "--out", out.toString());
        // 31 of the protocol and 30 of the pruning study (one seed with --quick)
        assertTrue(again.contains("resuming: 61 trials already done, 0 to run"), again);
        assertTrue(Files.size(out.resolve("pruning.md")) > 0);
        // the full protocol's trials are longer: that folder is refused, naming the difference
        run(2, "reproduce", "--tasks", "spirals", "--out", out.toString());
        run(2, "reproduce", "--quick", "--tasks", "imagenet", "--out", out.toString());
    }

    @Test
    void workersShareAStudyNamedByStorageAndReportExportsItAnyTime() throws Exception {
        Path db = dir.resolve("shared.db");
        String storage = "sqlite:///" + db;
        for (String out : new String[]{"a", "b"}) {
            run(0, "search", "--task", "seed-mlp", "--trials", "4", "--steps", "10", "--storage", storage, "--study",
                    "mlp", "--out", dir.resolve(out).toString());
        }
        assertTrue(Files.exists(db));
        assertTrue(!Files.exists(dir.resolve("a").resolve("study.db")), "the study is where --storage says");
        String second = Files.readString(dir.resolve("b").resolve("results.csv"));
        assertEquals(5, second.lines().count(), "the second worker found every trial done and exported them");
        String report = run(0, "report", "--storage", storage, "--study", "mlp", "--out",
                dir.resolve("report").toString());
        for (int idx = 0; idx < 4; idx++) {
            assertTrue(report.contains(String.format("%5d  nadamw_grid_seed", idx)), report);
        }
        assertEquals(second, Files.readString(dir.resolve("report").resolve("results.csv")));
    }

    @Test
    void aBudgetOfTwoFullTrialsStartsTwoAndThePrunerIsNamedOrRefused() throws Exception {
        Path out = dir.resolve("budget");
        run(0, "search", "--task", "seed-mlp", "--trials", "5", "--steps", "10", "--budget", "2", "--pruner",
                "median", "--out", out.toString());
        assertEquals(3, Files.readAllLines(out.resolve("results.csv")).size(), "header and the two trials the"
                + " budget of 2 x 10 steps allows");
        assertEquals("opt-list: --pruner must be none or median, got 'hyperband'\n", runErr(2, "search", "--task",
                "seed-mlp", "--trials", "2", "--steps", "10", "--pruner", "hyperband", "--out", out.toString()));
        assertEquals("opt-list: --budget must be >= 0 (0: no budget), got -1\n", runErr(2, "search", "--task",
                "seed-mlp", "--trials", "2", "--steps", "10", "--budget", "-1", "--out", out.toString()));
    }

    @Test
    void shardIsRefusedNamingWhatReplacedIt() {
        String err = runErr(2, "search", "--task", "seed-mlp", "--trials", "4", "--steps", "10", "--shard", "0/2",
                "--out", dir.toString());
        assertTrue(err.startsWith("opt-list: --shard is gone: start the same search on every machine with --storage"
                + " postgresql://"), err);
    }

    @Test
    void listAsJsonGivesOneConfigPerLine() throws Exception {
        String printed = run(0, "list", "--limit", "2", "--json");
        String[] lines = printed.strip().split("\n");
        assertEquals(2, lines.length);
        assertEquals("nadamw_grid_seed251", new ObjectMapper().readTree(lines[0]).get("name").asText());
    }

    @Test
    void showPrintsTheScheduleOverTheGivenLength() {
        String printed = run(0, "show", "0", "--steps", "100", "--points", "3");
        assertTrue(printed.contains("nadamw_grid_seed251"));
        assertTrue(printed.contains("       100    0.000000e+00"), printed);
    }

    @Test
    void showUnderTasksetReportsTheNesterovEntryRunningWithoutNesterovAndTheShortWarmup() {
        // Entry 1: use_nesterov true, warmup_fraction 2.289e-5, constant_fraction 0.3241 (the published list).
        String printed = run(0, "show", "1", "--steps", "1000", "--points", "11");
        assertTrue(printed.contains("use_nesterov           false (the entry says true; TASKSET never applies it)"),
                printed);
        assertTrue(printed.contains("warm-up over 0.023 of 1000 steps under TASKSET"), printed);
        // Past the 0.023-step warm-up and before the decay at step 324: the peak rate.
        assertTrue(printed.contains(String.format("%10d  %14.6e", 100, 0.4060109803507517)), printed);
    }

    @Test
    void showUnderTorchPortKeepsNesterovAndWarmsUpUntilTheConstantPhaseEnds() {
        String printed = run(0, "show", "1", "--steps", "1000", "--points", "11", "--variant", "TORCH_PORT");
        assertTrue(printed.contains("use_nesterov           true\n"), printed);
        assertTrue(printed.contains("warm-up over 324.149 of 1000 steps under TORCH_PORT"), printed);
        double warmupSteps = 1000 * 0.3241485833861578;
        assertTrue(printed.contains(String.format("%10d  %14.6e", 100, 100 / warmupSteps * 0.4060109803507517)),
                printed);
    }

    @Test
    void searchRecordsItsVariantAndRefusesToResumeUnderTheOther() throws Exception {
        Path out = dir.resolve("torch-port");
        run(0, "search", "--task", "seed-mlp", "--trials", "2", "--steps", "5", "--variant", "TORCH_PORT", "--out",
                out.toString());
        String header = Files.readAllLines(out.resolve("results.jsonl")).get(0);
        assertEquals("TORCH_PORT", new ObjectMapper().readTree(header).get("variant").asText(), header);
        run(2, "search", "--task", "seed-mlp", "--trials", "2", "--steps", "5", "--variant", "TASKSET", "--out",
                out.toString());
    }

    @Test
    void aResultsFolderFromBeforeTheExactVariantsIsRefusedSayingWhy() throws Exception {
        Path out = dir.resolve("old");
        run(0, "search", "--task", "seed-mlp", "--trials", "1", "--steps", "3", "--out", out.toString());
        Files.delete(out.resolve("study.db")); // an earlier version's folder: its results files are the results
        Path jsonl = out.resolve("results.jsonl");
        Files.writeString(jsonl, Files.readString(jsonl).replace("opt-list-search/2", "opt-list-search/1"));
        PrintStream originalErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        try {
            run(2, "search", "--task", "seed-mlp", "--trials", "1", "--steps", "3", "--out", out.toString());
        } finally {
            System.setErr(originalErr);
        }
        assertTrue(err.toString().contains("Nesterov"), err.toString());
    }

    /** Runs the CLI in process, capturing standard error; standard output is captured and checked by {@link #run}. */
    static String runErr(int expectedStatus, String... args) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try {
            run(expectedStatus, args);
        } finally {
            System.setErr(original);
        }
        return captured.toString();
    }

    @Test
    void everyCommandPrintsItsUsageOnHelpWithoutPicocliWarnings() {
        for (String command : new String[]{"list", "show", "tasks", "search", "report", "reproduce", "launch"}) {
            String err = runErr(0, command, "--help");
            String printed = run(0, command, "--help");
            assertTrue(printed.startsWith("Usage: opt-list " + command + " "), printed);
            assertTrue(err.isEmpty(), command + ": " + err);
            assertEquals(printed, run(0, "help", command), "help " + command);
        }
        String errors = runErr(0, "search", "--help");
        assertTrue(!errors.contains("picocli WARN"), errors);
        assertTrue(run(0, "search", "--help").contains("--storage=URL"));
    }

    @Test
    void messagesNameTheOptionTheUserTyped() {
        String[] search = {"search", "--task", "seed-mlp", "--trials", "2", "--steps", "10", "--out", dir.toString()};
        assertEquals("opt-list: --steps must be > 0, got 0\n", runErr(2, with(search, "--steps", "0")));
        assertEquals("opt-list: --threads-per-worker must be >= 0 (0: divide the cores), got -1\n",
                runErr(2, with(search, "--threads-per-worker", "-1")));
        assertEquals("opt-list: --workers must be >= 1, got 0\n", runErr(2, with(search, "--workers", "0")));
        assertEquals("opt-list: --trials must be in [1, 5] from --start 995, got 7\n",
                runErr(2, with(with(search, "--trials", "7"), "--start", "995")));
        assertEquals("opt-list: --start must be a list index, in [0, 1000), got 1000\n",
                runErr(2, with(search, "--start", "1000")));
        assertEquals("opt-list: --heartbeat-interval must be >= 1 second, got 0\n",
                runErr(2, with(search, "--heartbeat-interval", "0")));
        assertEquals("opt-list: --grace-period must be longer than --heartbeat-interval 60, got 60\n",
                runErr(2, with(search, "--grace-period", "60")));
        assertTrue(runErr(2, with(search, "--storage", "mysql://u@h/db")).startsWith(
                "opt-list: --storage: unknown storage URL scheme 'mysql': use sqlite:///PATH"));
        assertEquals("opt-list: --diverge-factor must be > 1, got 0.5\n",
                runErr(2, with(search, "--diverge-factor", "0.5")));
        assertEquals("opt-list: --blas-threads must be >= 0 (0: leave OpenBLAS alone), got -1\n",
                runErr(2, with(search, "--blas-threads", "-1")));
        assertEquals("opt-list: --pool must be in [10, 990], got 5\n",
                runErr(2, "reproduce", "--quick", "--pool", "5", "--out", dir.toString()));
        assertEquals("opt-list: --steps must be > 0, got 0\n", runErr(2, "show", "1", "--steps", "0"));
        assertEquals("opt-list: IDX must be a list index, in [0, 1000), got 1000\n", runErr(2, "show", "1000"));
    }

    /** {@code args} with {@code option}'s value replaced, or the option appended. */
    static String[] with(String[] args, String option, String value) {
        String[] out = Arrays.copyOf(args, args.length);
        for (int i = 0; i < out.length - 1; i++) {
            if (out[i].equals(option)) {
                out[i + 1] = value;
                return out;
            }
        }
        out = Arrays.copyOf(args, args.length + 2);
        out[args.length] = option;
        out[args.length + 1] = value;
        return out;
    }

    @Test
    void emptyOutIsRefusedInsteadOfWritingToTheCurrentFolder() {
        assertEquals("opt-list: --out must name a folder, got ''\n", runErr(2, "search", "--task", "seed-mlp",
                "--trials", "1", "--steps", "2", "--out", ""));
        assertEquals("opt-list: --out must name a folder, got ''\n", runErr(2, "reproduce", "--quick", "--out", ""));
        assertEquals("opt-list: DIR must name a folder, got ''\n", runErr(2, "report", ""));
    }

    @Test
    void fileErrorsSayTheOperationThePathAndTheCause() throws Exception {
        Path file = dir.resolve("afile");
        Files.writeString(file, "x");
        assertEquals("opt-list: " + file + " is a file, not a folder\n", runErr(2, "search", "--task", "seed-mlp",
                "--trials", "1", "--steps", "2", "--out", file.toString()));
        assertEquals("opt-list: cannot create folder " + file.resolve("sub") + ": Not a directory\n",
                runErr(1, "search", "--task", "seed-mlp", "--trials", "1", "--steps", "2", "--out",
                        file.resolve("sub").toString()));
        assertEquals("opt-list: " + dir.resolve("none") + " does not exist\n", runErr(2, "report",
                dir.resolve("none").toString()));
    }

    @Test
    void corruptResultsLineIsReportedWithTheFileAndLine() throws Exception {
        Path out = dir.resolve("run");
        run(0, "search", "--task", "seed-mlp", "--trials", "2", "--steps", "3", "--out", out.toString());
        Files.delete(out.resolve("study.db")); // an earlier version's folder: its results files are the results
        Path jsonl = out.resolve("results.jsonl");
        java.util.List<String> lines = new java.util.ArrayList<>(Files.readAllLines(jsonl));
        lines.set(1, "not json");
        Files.write(jsonl, lines);
        String err = runErr(2, "report", out.toString());
        assertTrue(err.startsWith("opt-list: " + jsonl + " line 2 is not a trial result ("), err);
    }

    @Test
    void aResultsLineContradictingTheSearchExitsWithStatusTwoNamingTheFileAndLine() throws Exception {
        Path out = dir.resolve("run");
        String[] search = {"search", "--task", "seed-mlp", "--trials", "2", "--steps", "3", "--out", out.toString()};
        run(0, search);
        Files.delete(out.resolve("study.db")); // an earlier version's folder: its results files are the results
        Path jsonl = out.resolve("results.jsonl");
        java.util.List<String> lines = new java.util.ArrayList<>(Files.readAllLines(jsonl));
        lines.set(1, lines.get(1).replaceFirst("\"objective\":[^,]+", "\"objective\":null"));
        Files.write(jsonl, lines);
        byte[] before = Files.readAllBytes(jsonl);
        String report = runErr(2, "report", out.toString());
        assertTrue(report.startsWith("opt-list: " + jsonl + " line 2 is not a trial result ("), report);
        assertEquals(report, runErr(2, search));
        assertArrayEquals(before, Files.readAllBytes(jsonl));
    }

    @Test
    void showRefusesMorePointsThanItPrints() {
        assertEquals("opt-list: --points must be in [2, 10000], got 10001\n", runErr(2, "show", "0", "--points",
                "10001"));
        assertEquals("opt-list: --points must be in [2, 10000], got 100000000\n", runErr(2, "show", "0", "--points",
                "100000000"));
        assertEquals("opt-list: --points must be in [2, 10000], got 1\n", runErr(2, "show", "0", "--points", "1"));
        String most = run(0, "show", "0", "--steps", "20000", "--points", "10000");
        assertTrue(most.contains(String.format("%10d  ", 20000)), "the last point is the last step");
    }

    @Test
    void folderInUseIsRefusedWithStatusOneNamingTheHolder() throws Exception {
        Path out = dir.resolve("busy");
        try (var lock = io.github.optlist.internal.FolderLock.acquire(out, "search")) {
            String err = runErr(1, "report", out.toString());
            assertTrue(err.startsWith("opt-list: " + out + " is in use by search (pid " + ProcessHandle.current()
                    .pid()), err);
        }
    }

    @Test
    void searchSetsOpenBlasThreadsToTheWorkerThreadsUnlessTold() {
        String[] search = {"search", "--task", "seed-mlp", "--trials", "1", "--steps", "2", "--threads-per-worker",
                "1", "--out", dir.resolve("blas").toString()};
        assertTrue(run(0, search).contains("1 worker(s) of 1 thread(s), OpenBLAS threads 1\n"));
        assertTrue(run(0, with(search, "--blas-threads", "0")).contains("OpenBLAS threads left alone\n"));
    }

    @Test
    void badArgumentsExitWithStatusTwo() {
        run(2, "show", "1000");
        run(2, "search", "--task", "seed-mlp", "--trials", "2", "--steps", "10", "--shard", "1/2", "--out",
                dir.toString());
        run(2, "search", "--task", "nope", "--trials", "2", "--steps", "10", "--out", dir.toString());
        run(2, "search", "--task", "seed-mlp");
    }

    @Test
    void launchRefusesAClasspathEntryThatIsNotThereBeforeStartingAnyRank() {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try {
            assertEquals(2, OptListCli.execute("launch", "--nproc", "2", "--classpath",
                    dir.resolve("no-such-folder").toString(), "io.github.optlist.examples.DataParallelExample"));
        } finally {
            System.setErr(original);
        }
        assertTrue(captured.toString().contains("--classpath " + dir.resolve("no-such-folder") + ": no such folder"),
                captured.toString());
    }
}
