package io.github.optlist.distributed;

import java.time.Duration;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Starts the ranks of one group on this machine, as torchrun does: {@code nproc} JVMs, each with
 * {@code MASTER_ADDR=127.0.0.1}, {@code MASTER_PORT}, {@code RANK}, {@code LOCAL_RANK}, {@code WORLD_SIZE} and
 * {@code LOCAL_WORLD_SIZE} set, and {@code OMP_WAIT_POLICY=PASSIVE} and {@code OMP_NUM_THREADS=1} unless the
 * launcher's environment sets them (LibTorch's OpenMP threads busy-wait otherwise, and several ranks share the cores).
 * Every line a rank prints (stdout and stderr) is passed on prefixed with {@code [rank r] }.
 *
 * <p>Before starting anything it checks that the main class is on the ranks' class path (loaded without being
 * initialized), so that a wrong name fails at once rather than in every rank.
 *
 * <p>When a rank fails (non-zero exit) and {@link Settings#stopAllOnFailure()}, the others are stopped
 * (terminated, then killed after 5 s). Past the time limit every rank is stopped. The ranks are also stopped when
 * the launcher's JVM exits (a shutdown hook), so no JVM is left behind.
 *
 * <p>A rank whose collective timed out names, through a report file, the ranks that did not record the failure
 * (see {@link TrainingGroup}); those still running when the first rank fails are the run's
 * {@link Result#unresponsiveRanks()}: the ranks that stopped answering, rather than the one that timed out
 * waiting for them.
 */
public final class Launcher {

    /** How long a stopped rank may take to exit after being asked, before it is killed. */
    private static final long GRACE_MILLIS = 5000;

    /**
     * How a run ended.
     *
     * @param exitCode  0 if every rank exited with 0, else the exit code of the first rank that failed (124 when
     *                  the time limit stopped the run)
     * @param rankCodes each rank's exit code (ranks that were stopped report the signal's code)
     * @param firstFailedRank the first rank that failed, or -1
     * @param unresponsiveRanks the ranks that other ranks reported as no longer answering (their collective timed
     *                          out waiting) and that were still running then, in order; empty when none was
     */
    public record Result(int exitCode, List<Integer> rankCodes, int firstFailedRank, List<Integer> unresponsiveRanks) {
        /** Copies the lists. */
        public Result {
            rankCodes = List.copyOf(rankCodes);
            unresponsiveRanks = List.copyOf(unresponsiveRanks);
        }

        /** A run in which no rank was reported unresponsive. */
        public Result(int exitCode, List<Integer> rankCodes, int firstFailedRank) {
            this(exitCode, rankCodes, firstFailedRank, List.of());
        }

        /**
         * What happened, for the user: which rank failed with which code, or which ranks stopped answering (and
         * which rank timed out waiting for them).
         *
         * @param othersStopped whether the launcher stopped the other ranks on the first failure
         */
        public String summary(boolean othersStopped) {
            if (exitCode == 0) {
                return "every rank succeeded";
            }
            if (!unresponsiveRanks.isEmpty()) {
                String who = unresponsiveRanks.size() == 1 ? "rank " + unresponsiveRanks.get(0)
                        : "ranks " + unresponsiveRanks;
                String waiter = firstFailedRank < 0 ? "" : ": rank " + firstFailedRank + " timed out waiting for "
                        + (unresponsiveRanks.size() == 1 ? "it" : "them") + " and exited with code "
                        + rankCodes.get(firstFailedRank);
                return who + " stopped answering" + waiter + (othersStopped ? "; every rank was stopped" : "");
            }
            if (exitCode == 124 && firstFailedRank < 0) {
                return "time limit reached, every rank stopped";
            }
            if (exitCode == 130 && firstFailedRank < 0) {
                return "interrupted, every rank stopped";
            }
            return "rank " + firstFailedRank + " failed with exit code " + exitCode
                    + (othersStopped ? "; the other ranks were stopped" : "");
        }
    }

    private Launcher() {
    }

    /**
     * Runs the ranks to the end and returns how they ended; {@code lines} receives every prefixed output line, from
     * the ranks' reader threads (it must be thread-safe, as {@code System.out::println} is).
     *
     * @throws IllegalArgumentException if an argument is null, or the main class is not on the class path (or
     *                                  cannot be loaded); nothing is started then
     * @throws UncheckedIOException     if a JVM cannot be started; the ones started are stopped
     */
    public static Result run(Settings settings, Consumer<String> lines) {
        if (settings == null || lines == null) {
            throw new IllegalArgumentException("settings and lines must not be null");
        }
        MainClassCheck.require(settings.classpath(), settings.mainClass());
        int port = settings.masterPort() == 0 ? freePort() : settings.masterPort();
        Path reports;
        try {
            reports = Files.createTempDirectory("opt-list-launch-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the launch's report folder: " + e.getMessage(), e);
        }
        List<Process> ranks = new ArrayList<>();
        List<Thread> readers = new ArrayList<>();
        Thread hook = new Thread(() -> stopAll(ranks), "opt-list-launch-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            for (int r = 0; r < settings.nproc(); r++) {
                Process process = start(settings, r, port, reports);
                synchronized (ranks) {
                    ranks.add(process);
                }
                String prefix = "[rank " + r + "] ";
                Thread reader = new Thread(() -> forward(process, prefix, lines),
                        "opt-list-launch-rank-" + r);
                reader.setDaemon(true);
                reader.start();
                readers.add(reader);
            }
            Result result = supervise(settings, ranks, reports);
            for (Thread reader : readers) {
                reader.join(2000);
            }
            return result;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopAll(ranks);
            return new Result(130, codes(ranks), -1);
        } finally {
            stopAll(ranks);
            deleteReports(reports);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook runs anyway.
            }
        }
    }

    /** The ranks reported missing by other ranks that are still running, in order. */
    private static List<Integer> unresponsive(List<Process> ranks, Path reports) {
        TreeSet<Integer> found = new TreeSet<>();
        for (Map.Entry<Integer, List<Integer>> report : readReports(reports).entrySet()) {
            for (int r : report.getValue()) {
                if (r != report.getKey() && r >= 0 && r < ranks.size() && ranks.get(r).isAlive()) {
                    found.add(r);
                }
            }
        }
        return List.copyOf(found);
    }

    /** Reporting rank to the ranks it named; unreadable or malformed reports are skipped. */
    private static Map<Integer, List<Integer>> readReports(Path reports) {
        Map<Integer, List<Integer>> all = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(reports, "rank-*.missing")) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                try {
                    int reporter = Integer.parseInt(name.substring(5, name.length() - ".missing".length()));
                    List<Integer> named = new ArrayList<>();
                    for (String part : Files.readString(file, StandardCharsets.UTF_8).trim().split(",")) {
                        if (!part.isBlank()) {
                            named.add(Integer.parseInt(part.trim()));
                        }
                    }
                    all.put(reporter, named);
                } catch (IOException | NumberFormatException e) {
                    // A report the launcher cannot read names no one.
                }
            }
        } catch (IOException e) {
            // No report folder: no reports.
        }
        return all;
    }

    private static void deleteReports(Path reports) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(reports)) {
            for (Path file : files) {
                Files.deleteIfExists(file);
            }
            Files.deleteIfExists(reports);
        } catch (IOException e) {
            // A few bytes left in the temporary folder.
        }
    }

    private static Process start(Settings settings, int rank, int port, Path reports) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(settings.javaOptions());
        command.add("-cp");
        command.add(settings.classpath());
        command.add(settings.mainClass());
        command.addAll(settings.args());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        env.putIfAbsent("OMP_NUM_THREADS", "1");
        env.putAll(settings.extraEnv());
        env.put(TrainingGroup.REPORTS_ENV, reports.toString());
        env.put("MASTER_ADDR", "127.0.0.1");
        env.put("MASTER_PORT", Integer.toString(port));
        env.put("RANK", Integer.toString(rank));
        env.put("LOCAL_RANK", Integer.toString(rank));
        env.put("WORLD_SIZE", Integer.toString(settings.nproc()));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(settings.nproc()));
        try {
            return builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start rank " + rank + " (" + command.get(0) + "): "
                    + e.getMessage(), e);
        }
    }

    private static Result supervise(Settings settings, List<Process> ranks, Path reports)
            throws InterruptedException {
        long deadline = settings.timeLimit() == null ? Long.MAX_VALUE
                : System.nanoTime() + settings.timeLimit().toNanos();
        int firstFailed = -1;
        List<Integer> unresponsive = List.of();
        while (true) {
            boolean allDone = true;
            for (int r = 0; r < ranks.size(); r++) {
                Process process = ranks.get(r);
                if (process.isAlive()) {
                    allDone = false;
                } else if (process.exitValue() != 0 && firstFailed < 0) {
                    firstFailed = r;
                    // Read while the ranks named still run: a reported rank that has exited is a failure of its own.
                    unresponsive = unresponsive(ranks, reports);
                    if (settings.stopAllOnFailure()) {
                        stopAll(ranks);
                    }
                }
            }
            if (allDone) {
                int code = firstFailed < 0 ? 0 : ranks.get(firstFailed).exitValue();
                return new Result(code, codes(ranks), firstFailed, unresponsive);
            }
            if (System.nanoTime() > deadline) {
                if (firstFailed < 0) {
                    unresponsive = unresponsive(ranks, reports);
                }
                stopAll(ranks);
                return new Result(124, codes(ranks), firstFailed, unresponsive);
            }
            Thread.sleep(50);
        }
    }

    private static List<Integer> codes(List<Process> ranks) {
        List<Integer> codes = new ArrayList<>();
        for (Process process : ranks) {
            codes.add(process.isAlive() ? -1 : process.exitValue());
        }
        return codes;
    }

    /** Terminates every live rank and its descendants, then kills what is left after the grace period. */
    private static void stopAll(List<Process> ranks) {
        List<Process> snapshot;
        synchronized (ranks) {
            snapshot = new ArrayList<>(ranks);
        }
        for (Process process : snapshot) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GRACE_MILLIS);
        for (Process process : snapshot) {
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !process.waitFor(left, TimeUnit.NANOSECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly().waitFor(GRACE_MILLIS, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void forward(Process process, String prefix, Consumer<String> lines) {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                lines.accept(prefix + line);
            }
        } catch (IOException e) {
            // The rank is gone; its exit code says why.
        }
    }

    /**
     * A TCP port free on the loopback interface now, for a rendezvous store; tests in other packages reach it
     * through their own helper.
     *
     * @throws UncheckedIOException if no port can be bound
     */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free TCP port on the loopback interface: " + e.getMessage(), e);
        }
    }

    /**
     * What {@link Launcher} starts: {@code nproc} JVMs running {@code mainClass} with {@code args} on
     * {@code classpath}, as ranks of one group on this machine.
     *
     * <p>The constructor refuses, with an {@link IllegalArgumentException} naming the value: {@code nproc} outside
     * {@code [1, 64]}, a port outside {@code [0, 65535]}, a blank classpath or main class, null lists or maps, and a
     * time limit that is zero or negative.
     *
     * @param nproc            the number of ranks
     * @param masterPort       the rendezvous port, 0 for a free one chosen at launch
     * @param classpath        the ranks' class path
     * @param mainClass        the class whose {@code main} each rank runs
     * @param args             its arguments
     * @param javaOptions      options for each JVM, before the class name (e.g. {@code -Xmx1g})
     * @param extraEnv         variables added to each rank's environment, over the launcher's own
     * @param stopAllOnFailure whether the first rank to fail stops the others (torchrun's behaviour)
     * @param timeLimit        the most the whole run may take before every rank is stopped, or null for no limit
     */
    public record Settings(int nproc, int masterPort, String classpath, String mainClass, List<String> args,
                                 List<String> javaOptions, Map<String, String> extraEnv, boolean stopAllOnFailure,
                                 Duration timeLimit) {

        /** Validates and copies; see the class description. */
        public Settings {
            if (nproc < 1 || nproc > 64) {
                throw new IllegalArgumentException("nproc must be in [1, 64], got " + nproc);
            }
            if (masterPort < 0 || masterPort > 65535) {
                throw new IllegalArgumentException("masterPort must be in [0, 65535], got " + masterPort);
            }
            if (classpath == null || classpath.isBlank()) {
                throw new IllegalArgumentException("classpath must not be blank");
            }
            if (mainClass == null || mainClass.isBlank()) {
                throw new IllegalArgumentException("mainClass must not be blank");
            }
            if (args == null || javaOptions == null || extraEnv == null) {
                throw new IllegalArgumentException("args, javaOptions and extraEnv must not be null");
            }
            if (timeLimit != null && (timeLimit.isZero() || timeLimit.isNegative())) {
                throw new IllegalArgumentException("timeLimit must be positive or null, got " + timeLimit);
            }
            args = List.copyOf(args);
            javaOptions = List.copyOf(javaOptions);
            extraEnv = Map.copyOf(extraEnv);
        }

        /**
         * {@code nproc} ranks of {@code mainClass} on this JVM's class path, on a free port, stopping all when one
         * fails, without a time limit.
         */
        public static Settings of(int nproc, String mainClass, List<String> args) {
            return new Settings(nproc, 0, System.getProperty("java.class.path"), mainClass, args, List.of(),
                    Map.of(), true, null);
        }
    }
}
