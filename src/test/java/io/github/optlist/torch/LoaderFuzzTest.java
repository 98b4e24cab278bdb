package io.github.optlist.torch;

import io.github.optlist.ChildProcess;
import io.github.optlist.ListVariant;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.github.optlist.torch.PythonStateDictsTest.assertSameState;
import static io.github.optlist.torch.PythonStateDictsTest.nesterovWithWarmup;
import static io.github.optlist.torch.PythonStateDictsTest.optimizer;
import static io.github.optlist.torch.PythonStateDictsTest.params;
import static io.github.optlist.torch.PythonStateDictsTest.plain;
import static io.github.optlist.torch.PythonStateDictsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A seeded mutation fuzz test of both loaders ({@code load} and {@code loadPythonStateDict}) over
 * {@link LoaderMutations} of a valid checkpoint and state dict, run in a child JVM so that a crash fails this test
 * instead of killing the suite. Every case must end in a clean refusal ({@link CheckpointException}) leaving the
 * optimizer unchanged, or in a load of a valid state: for a raw mutation (CRC32s as written) exactly the saved state,
 * for a structured one a state the optimizer then steps with. Never a death, a case over 10 s, or a peak resident
 * memory more than 256 MiB above the child's after its first loads.
 *
 * <p>The suite runs {@code -Doptlist.fuzz.cases} cases (300 by default) from seed {@code -Doptlist.fuzz.seed} (1);
 * {@code docs/bad-input.md} gives the figures of a longer run.
 */
class LoaderFuzzTest {

    private static final long MAX_CASE_MILLIS = 10_000;
    private static final long MAX_GROWTH_KIB = 256 << 10;

    @TempDir
    Path dir;

    @Test
    void mutatedCheckpointsAndStateDictsAreRefusedOrLoadValidStatesNeverKillOrHang() throws Exception {
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 3);
            opt.save(dir.resolve("valid.ckpt"));
            opt.savePythonStateDict(dir.resolve("valid.pt"));
        }
        int cases = Integer.getInteger("optlist.fuzz.cases", 300);
        long seed = Long.getLong("optlist.fuzz.seed", 1);
        ChildProcess child = ChildProcess.java(List.of("-Xmx192m", "-Xms192m"), FuzzChild.class,
                dir.resolve("valid.ckpt").toString(), dir.resolve("valid.pt").toString(), dir.toString(),
                Long.toString(seed), Integer.toString(cases));
        String output = child.output();
        String summary = output.lines().filter(l -> l.startsWith("FUZZ")).reduce((a, b) -> b).orElse("");
        System.out.println(output.lines().filter(l -> l.startsWith("FUZZ") || l.startsWith("BAD")
                || l.startsWith("HANG")).reduce("", (a, b) -> a + b + "\n"));
        assertEquals(0, child.exitCode(), () -> "the child JVM died or found a bad case (seed " + seed + "): "
                + output.lines().filter(l -> !l.startsWith("[W")).skip(Math.max(0, output.lines().count() - 40))
                .reduce("", (a, b) -> a + b + "\n"));
        Matcher m = Pattern.compile("FUZZ cases (\\d+) refused (\\d+) loaded (\\d+) bad (\\d+) growth_kib (-?\\d+)")
                .matcher(summary);
        assertTrue(m.find(), output);
        assertEquals(cases, Integer.parseInt(m.group(1)));
        assertEquals(0, Integer.parseInt(m.group(4)), output);
        assertTrue(Long.parseLong(m.group(5)) < MAX_GROWTH_KIB, summary);
        assertTrue(Integer.parseInt(m.group(2)) > cases / 2, "most mutations must be refused: " + summary);
    }

    /** The child JVM: runs the cases and prints one {@code FUZZ} summary line, and a {@code BAD} line per bad case. */
    static final class FuzzChild {
        public static void main(String[] args) throws Exception {
            byte[] checkpoint = Files.readAllBytes(Path.of(args[0]));
            byte[] stateDict = Files.readAllBytes(Path.of(args[1]));
            Path work = Path.of(args[2]);
            long seed = Long.parseLong(args[3]);
            int cases = Integer.parseInt(args[4]);
            OptimizerState saved = savedState(Path.of(args[0]));
            for (int warm = 0; warm < 20; warm++) {
                savedState(Path.of(args[0]));
            }
            System.gc();
            long baseline = residentKib("VmRSS");
            AtomicLong caseStart = new AtomicLong(System.currentTimeMillis());
            AtomicReference<String> current = new AtomicReference<>("warm-up");
            Thread watchdog = new Thread(() -> {
                while (true) {
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (System.currentTimeMillis() - caseStart.get() > MAX_CASE_MILLIS) {
                        System.out.println("HANG " + current.get());
                        System.out.flush();
                        Runtime.getRuntime().halt(3);
                    }
                }
            });
            watchdog.setDaemon(true);
            watchdog.start();
            int refused = 0;
            int loaded = 0;
            int bad = 0;
            TreeMap<String, int[]> byKind = new TreeMap<>();
            for (int n = 0; n < cases; n++) {
                Random random = new Random(seed * 1_000_003L + n);
                boolean asCheckpoint = random.nextBoolean();
                LoaderMutations.Mutated mutated = LoaderMutations.mutate(asCheckpoint ? checkpoint : stateDict,
                        random);
                Path file = Files.write(work.resolve("case.bin"), mutated.bytes());
                String name = "case " + n + " (seed " + seed + ", " + (asCheckpoint ? "load" : "loadPythonStateDict")
                        + ", " + mutated.kind() + ")";
                current.set(name);
                System.out.println("START " + name);
                System.out.flush();
                caseStart.set(System.currentTimeMillis());
                String outcome = runCase(file, asCheckpoint, mutated.structured(), saved);
                int[] counts = byKind.computeIfAbsent(mutated.kind(), k -> new int[2]);
                if (outcome.equals("refused")) {
                    refused++;
                    counts[0]++;
                } else if (outcome.equals("loaded")) {
                    loaded++;
                    counts[1]++;
                } else {
                    bad++;
                    Files.write(work.resolve("bad-" + n + ".bin"), mutated.bytes());
                    System.out.println("BAD " + name + ": " + outcome);
                }
            }
            long growth = residentKib("VmHWM") - baseline;
            byKind.forEach((kind, c) -> System.out.println("FUZZ-KIND " + kind + ": refused " + c[0]
                    + " loaded " + c[1]));
            System.out.println("FUZZ cases " + cases + " refused " + refused + " loaded " + loaded + " bad " + bad
                    + " growth_kib " + growth);
            System.out.flush();
            Runtime.getRuntime().halt(bad == 0 ? 0 : 4);
        }

        private static OptimizerState savedState(Path checkpoint) throws IOException {
            Tensor[][] params = params();
            try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
                opt.load(checkpoint);
                return opt.state();
            }
        }

        /**
         * Loads {@code file} into a fresh optimizer that has taken two steps: {@code refused} (a
         * {@link CheckpointException} naming the file, the optimizer unchanged), {@code loaded} (and then one step
         * ran; for a file that is not {@code structured}, the state loaded is {@code saved}), or what went wrong.
         */
        static String runCase(Path file, boolean asCheckpoint, boolean structured, OptimizerState saved) {
            Tensor[][] params = params();
            try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
                run(opt, params, 2);
                OptimizerState before = opt.state();
                try {
                    if (asCheckpoint) {
                        opt.load(file);
                    } else {
                        opt.loadPythonStateDict(file);
                    }
                } catch (CheckpointException e) {
                    if (!e.getMessage().contains(file.toString()) || e.getMessage().contains("INTERNAL ASSERT")) {
                        return "a refusal that does not name the file: " + e.getMessage();
                    }
                    return same(before, opt.state()) ? "refused" : "refused but changed: " + e.getMessage();
                } catch (Throwable e) {
                    return "not a CheckpointException: " + e;
                }
                if (!structured && !same(saved, opt.state())) {
                    return "loaded another state than the one saved, from a file whose CRC32s are as written";
                }
                try {
                    run(opt, params, 1);
                } catch (RuntimeException e) {
                    return "loaded a state it cannot step with: " + e;
                }
                return "loaded";
            } catch (Throwable e) {
                return "failed outside the load: " + e;
            }
        }

        private static boolean same(OptimizerState a, OptimizerState b) {
            try {
                assertSameState(a, b);
                return a.stepCount() == b.stepCount();
            } catch (AssertionError e) {
                return false;
            }
        }

        private static long residentKib(String field) throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            throw new IOException("no " + field + " in /proc/self/status");
        }
    }
}
