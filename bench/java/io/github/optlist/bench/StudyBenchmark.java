package io.github.optlist.bench;

import io.github.optlist.search.study.OptunaStudy;
import io.github.optlist.search.study.RunningTrial;
import io.github.optlist.search.study.StorageUrl;
import io.github.optlist.search.study.StudyDatabase;
import io.github.optlist.search.study.StudyDirection;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

/**
 * What a worker of a search pays the study database: the time of a pop (a waiting trial made running, in one
 * transaction) and of a heartbeat, median and 90th percentile over 500 of each, then 8 workers (threads, each with
 * its own connection) draining 400 trials, checking that no trial is taken twice. It runs on a fresh SQLite file, or
 * on the PostgreSQL database of the URL given as the argument (its study {@code bench-<time>} is left there).
 *
 * <pre>
 * bin/opt-list launch --nproc 1 --classpath target/bench io.github.optlist.bench.StudyBenchmark [postgresql://...]
 * </pre>
 */
public final class StudyBenchmark {

    private static final int TIMED = 500;
    private static final int WORKERS = 8;
    private static final int DRAINED = 400;

    private StudyBenchmark() {
    }

    /** Runs the benchmark; prints Markdown table rows. */
    public static void main(String[] args) throws Exception {
        StorageUrl url = args.length > 0 ? StorageUrl.parse(args[0])
                : StorageUrl.sqlite(Files.createTempDirectory("study-bench").resolve("study.db"));
        String name = "bench-" + System.currentTimeMillis();
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, name, StudyDirection.MINIMIZE, Map.of());
            study.enqueue(IntStream.range(0, TIMED).boxed().toList());
            double[] pops = new double[TIMED];
            double[] beats = new double[TIMED];
            for (int i = 0; i < TIMED; i++) {
                long start = System.nanoTime();
                RunningTrial trial = study.pop().orElseThrow();
                pops[i] = (System.nanoTime() - start) / 1e6;
                start = System.nanoTime();
                study.heartbeat(trial);
                beats[i] = (System.nanoTime() - start) / 1e6;
                study.complete(trial, i, Map.of());
            }
            System.out.printf("| %s | pop | %.2f ms | %.2f ms |%n", url.isSqlite() ? "SQLite" : "PostgreSQL",
                    quantile(pops, 0.5), quantile(pops, 0.9));
            System.out.printf("| %s | heartbeat | %.2f ms | %.2f ms |%n", url.isSqlite() ? "SQLite" : "PostgreSQL",
                    quantile(beats, 0.5), quantile(beats, 0.9));
        }
        drain(url, name + "-drain");
    }

    /** Eight workers, each with its own connection, take every trial of a queue of {@value #DRAINED}. */
    private static void drain(StorageUrl url, String name) throws Exception {
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy.createOrLoad(database, name, StudyDirection.MINIMIZE, Map.of())
                    .enqueue(IntStream.range(0, DRAINED).boxed().toList());
        }
        Set<Integer> taken = ConcurrentHashMap.newKeySet();
        AtomicInteger twice = new AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        long start = System.nanoTime();
        for (int w = 0; w < WORKERS; w++) {
            Thread worker = new Thread(() -> {
                try (StudyDatabase database = StudyDatabase.open(url)) {
                    OptunaStudy study = OptunaStudy.createOrLoad(database, name, StudyDirection.MINIMIZE, Map.of());
                    for (Optional<RunningTrial> t = study.pop(); t.isPresent(); t = study.pop()) {
                        if (!taken.add(t.get().index())) {
                            twice.incrementAndGet();
                        }
                        study.complete(t.get(), 0, Map.of());
                    }
                }
            });
            worker.start();
            workers.add(worker);
        }
        for (Thread worker : workers) {
            worker.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("| %s | %d workers drain %d trials | %.1f s | %d taken, %d twice |%n",
                url.isSqlite() ? "SQLite" : "PostgreSQL", WORKERS, DRAINED, seconds, taken.size(), twice.get());
    }

    private static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    }
}
