package io.github.optlist.search.study;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Worker processes on one SQLite study: racing for its trials, and one killed with SIGKILL while it runs one. */
class WorkerProcessTest {

    @TempDir
    Path dir;

    private static Process worker(String mode, StorageUrl url) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), StudyWorker.class.getName(), mode, url.toString())
                .redirectErrorStream(true);
        builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        return builder.start();
    }

    private static List<Integer> ran(Process process) throws Exception {
        List<Integer> ran = new ArrayList<>();
        List<String> output = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                output.add(line);
                if (line.startsWith("ran ")) {
                    ran.add(Integer.parseInt(line.substring(4)));
                }
            }
        }
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "worker did not end");
        assertEquals(0, process.exitValue(), String.join("\n", output));
        return ran;
    }

    @Test
    void threeWorkerProcessesRunEveryTrialOnce() throws Exception {
        StorageUrl url = StorageUrl.parse("sqlite:///" + dir.resolve("study.db"));
        List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            indices.add(i);
        }
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE, StudyContract.SETTINGS).enqueue(indices);
        }
        List<Process> workers = List.of(worker("drain", url), worker("drain", url), worker("drain", url));
        List<Integer> ran = new ArrayList<>();
        for (Process process : workers) {
            ran.addAll(ran(process));
        }
        ran.sort(null);
        assertEquals(indices, ran);
    }

    @Test
    void theTrialOfAWorkerKilledMidTrialIsRetriedAndRunByAnother() throws Exception {
        StorageUrl url = StorageUrl.parse("sqlite:///" + dir.resolve("study.db"));
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE, StudyContract.SETTINGS)
                    .enqueue(List.of(5));
        }
        Process holder = worker("hold", url);
        BufferedReader output = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                StandardCharsets.UTF_8));
        String line = output.readLine();
        while (line != null && !line.startsWith("holding")) {
            line = output.readLine();
        }
        assertEquals("holding 5", line);
        holder.destroyForcibly().waitFor();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE,
                    StudyContract.SETTINGS);
            StudyContract.ageHeartbeats(database);
            assertEquals(List.of(new StaleTrial(0, 5, 1)), study.failStale(Duration.ofSeconds(60), 3));
        }
        assertEquals(List.of(5), ran(worker("drain", url)));
        try (StudyDatabase database = StudyDatabase.open(url)) {
            List<StoredTrial> trials = OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE,
                    StudyContract.SETTINGS).trials();
            assertEquals(List.of(TrialState.FAIL, TrialState.COMPLETE), trials.stream().map(StoredTrial::state)
                    .toList());
        }
    }
}
