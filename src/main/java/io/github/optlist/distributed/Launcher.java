package io.github.optlist.distributed;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Starts the ranks of one group on this machine, as torchrun does: {@code nproc} JVMs, each with
 * {@code MASTER_ADDR=127.0.0.1}, {@code MASTER_PORT}, {@code RANK}, {@code LOCAL_RANK}, {@code WORLD_SIZE} and
 * {@code LOCAL_WORLD_SIZE} set, and {@code OMP_WAIT_POLICY=PASSIVE} and {@code OMP_NUM_THREADS=1} unless the
 * launcher's environment sets them (LibTorch's OpenMP threads busy-wait otherwise, and several ranks share the cores).
 * Every line a rank prints (stdout and stderr) is passed on prefixed with {@code [rank r] }.
 *
 * <p>When a rank fails (non-zero exit) and {@link LaunchSettings#stopAllOnFailure()}, the others are stopped
 * (terminated, then killed after 5 s). Past the time limit every rank is stopped. The ranks are also stopped when
 * the launcher's JVM exits (a shutdown hook), so no JVM is left behind.
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
     */
    public record Result(int exitCode, List<Integer> rankCodes, int firstFailedRank) {
        /** Copies the list. */
        public Result {
            rankCodes = List.copyOf(rankCodes);
        }
    }

    private Launcher() {
    }

    /**
     * Runs the ranks to the end and returns how they ended; {@code lines} receives every prefixed output line, from
     * the ranks' reader threads (it must be thread-safe, as {@code System.out::println} is).
     *
     * @throws IllegalArgumentException if an argument is null
     * @throws UncheckedIOException     if a JVM cannot be started; the ones started are stopped
     */
    public static Result run(LaunchSettings settings, Consumer<String> lines) {
        if (settings == null || lines == null) {
            throw new IllegalArgumentException("settings and lines must not be null");
        }
        int port = settings.masterPort() == 0 ? freePort() : settings.masterPort();
        List<Process> ranks = new ArrayList<>();
        List<Thread> readers = new ArrayList<>();
        Thread hook = new Thread(() -> stopAll(ranks), "opt-list-launch-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            for (int r = 0; r < settings.nproc(); r++) {
                Process process = start(settings, r, port);
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
            Result result = supervise(settings, ranks);
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
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook runs anyway.
            }
        }
    }

    private static Process start(LaunchSettings settings, int rank, int port) {
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

    private static Result supervise(LaunchSettings settings, List<Process> ranks) throws InterruptedException {
        long deadline = settings.timeLimit() == null ? Long.MAX_VALUE
                : System.nanoTime() + settings.timeLimit().toNanos();
        int firstFailed = -1;
        while (true) {
            boolean allDone = true;
            for (int r = 0; r < ranks.size(); r++) {
                Process process = ranks.get(r);
                if (process.isAlive()) {
                    allDone = false;
                } else if (process.exitValue() != 0 && firstFailed < 0) {
                    firstFailed = r;
                    if (settings.stopAllOnFailure()) {
                        stopAll(ranks);
                    }
                }
            }
            if (allDone) {
                int code = firstFailed < 0 ? 0 : ranks.get(firstFailed).exitValue();
                return new Result(code, codes(ranks), firstFailed);
            }
            if (System.nanoTime() > deadline) {
                stopAll(ranks);
                return new Result(124, codes(ranks), firstFailed);
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

    /** A TCP port free on the loopback interface now, for a rendezvous store. */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free TCP port on the loopback interface: " + e.getMessage(), e);
        }
    }

}
