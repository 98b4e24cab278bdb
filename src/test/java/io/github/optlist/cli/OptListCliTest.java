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
    void shardsRunSeparatelyAndReportMerges() throws Exception {
        Path out = dir.resolve("sharded");
        for (String shard : new String[]{"0/2", "1/2"}) {
            run(0, "search", "--task", "seed-mlp", "--trials", "4", "--steps", "10", "--shard", shard, "--out",
                    out.toString());
        }
        assertTrue(Files.exists(out.resolve("results.shard-0-of-2.jsonl")));
        String report = run(0, "report", out.toString());
        for (int idx = 0; idx < 4; idx++) {
            assertTrue(report.contains(String.format("%5d  nadamw_grid_seed", idx)), report);
        }
        assertEquals(5, Files.readAllLines(out.resolve("results.csv")).size());
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
    void badArgumentsExitWithStatusTwo() {
        run(2, "show", "1000");
        run(2, "search", "--task", "seed-mlp", "--trials", "2", "--steps", "10", "--shard", "2/2", "--out",
                dir.toString());
        run(2, "search", "--task", "nope", "--trials", "2", "--steps", "10", "--out", dir.toString());
        run(2, "search", "--task", "seed-mlp");
    }
}
