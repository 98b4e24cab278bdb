package io.github.optlist.search;

import io.github.optlist.search.study.OptunaStudy;
import io.github.optlist.search.study.StorageUrl;
import io.github.optlist.search.study.StoredTrial;
import io.github.optlist.search.study.StudyDatabase;
import io.github.optlist.search.study.TrialState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A search worker process killed with SIGKILL mid-trial loses only that trial's progress: another worker runs it. */
class SearchWorkerProcessTest {

    @TempDir
    Path dir;

    private Process worker(String storage, Path out) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), SearchWorker.class.getName(), storage, out.toString())
                .redirectErrorStream(true);
        builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        return builder.start();
    }

    @Test
    void aWorkerKilledMidTrialLosesOnlyThatTrialWhichTheNextWorkerRetries() throws Exception {
        String storage = "sqlite:///" + dir.resolve("study.db");
        Process killed = worker(storage, dir.resolve("a"));
        List<String> killedOutput = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(killed.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null && !line.equals("trial 0"); line = lines.readLine()) {
                killedOutput.add(line);
            }
            killed.destroyForcibly(); // SIGKILL: the worker cannot put its trial back itself
            assertTrue(killed.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals(137, killed.exitValue(), String.join("\n", killedOutput));

        Process next = worker(storage, dir.resolve("b"));
        List<String> output = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(next.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                output.add(line);
            }
        }
        assertTrue(next.waitFor(120, TimeUnit.SECONDS), "the second worker did not end");
        assertEquals(0, next.exitValue(), String.join("\n", output));
        assertTrue(output.contains("trial 0"), "the killed worker's trial ran again: " + output);

        List<StoredTrial> trials;
        try (StudyDatabase database = StudyDatabase.open(StorageUrl.parse(storage))) {
            trials = OptunaStudy.load(database, "kill").orElseThrow().trials();
        }
        List<Integer> complete = trials.stream().filter(t -> t.state() == TrialState.COMPLETE)
                .map(StoredTrial::index).sorted().toList();
        assertEquals(List.of(0, 1, 2, 3), complete, "every index completed once");
        List<StoredTrial> failed = trials.stream().filter(t -> t.state() == TrialState.FAIL).toList();
        assertEquals(1, failed.size(), "only the killed trial failed: " + trials);
        assertEquals(0, failed.get(0).index());
        assertTrue(failed.get(0).userAttributes().get("fail_reason").asText().contains("no heartbeat"));
        StoredTrial retry = trials.stream().filter(t -> t.systemAttributes().containsKey("failed_trial"))
                .findFirst().orElseThrow();
        assertEquals(failed.get(0).number(), retry.systemAttributes().get("failed_trial").asInt());
        assertEquals(TrialState.COMPLETE, retry.state());
        assertEquals(5, Files.readAllLines(dir.resolve("b").resolve("results.csv")).size(), "header and 4 trials");
    }
}
