package io.github.optlist.torch;

import io.github.optlist.OptList;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Saving onto a file system that refuses the write (full, read-only) or a process killed while saving: the
 * previous checkpoint stays byte for byte, the save says why, and no temporary file is left by a failed save.
 * Uses a small tmpfs, mounted where this process may (root on Linux); skipped with the reason elsewhere.
 */
class CheckpointFileSystemTest {

    /** Parameters of the child's checkpoint: 2 x 200 000 floats of moments, larger than the free space left. */
    static final int BIG = 200_000;

    @TempDir
    Path dir;

    private Path mounted;

    @AfterEach
    void unmount() throws Exception {
        if (mounted != null) {
            if (command("umount", mounted.toString()) != 0) {
                command("umount", "-l", mounted.toString());
            }
        }
    }

    private static int command(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getInputStream().readAllBytes();
        return process.waitFor();
    }

    /** A fresh tmpfs of {@code size} under the test's folder, or the test is skipped saying why. */
    private Path tmpfs(String size) throws Exception {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"),
                "tmpfs mounts need Linux");
        Path point = Files.createDirectory(dir.resolve("tmpfs"));
        String output;
        int exit;
        try {
            Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs",
                    point.toString()).redirectErrorStream(true).start();
            output = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            exit = mount.waitFor();
        } catch (IOException e) {
            output = e.getMessage();
            exit = -1;
        }
        Assumptions.assumeTrue(exit == 0, "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): " + output);
        mounted = point;
        return point;
    }

    private static void saveSmall(Path file) throws IOException {
        Tensor[] params = CheckpointTest.params();
        try (var opt = CheckpointTest.optimizer(params, OptList.config(0))) {
            CheckpointTest.run(opt, params, 0, 2);
            opt.save(file);
        }
    }

    /** Fills {@code folder}'s file system with 16 KiB files, then frees {@code free} of them. */
    private static void fill(Path folder, int free) throws IOException {
        List<Path> fillers = new ArrayList<>();
        byte[] block = new byte[16 * 1024];
        for (int n = 0; ; n++) {
            Path filler = folder.resolve("filler-" + n);
            fillers.add(filler);
            try (OutputStream out = Files.newOutputStream(filler)) {
                out.write(block);
            } catch (IOException full) {
                break;
            }
        }
        for (int n = 0; n < free; n++) {
            Files.delete(fillers.get(n));
        }
    }

    private static List<Path> temporaries(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(p -> p.getFileName().toString().contains(".tmp")).toList();
        }
    }

    /**
     * Whether a save's temporary file shows up in {@code folder} within 200 ms, waiting a random 0 to 1 ms more once
     * it has: the kill that follows then lands inside the save, or just after it, however long the steps between
     * saves take on a busy or an idle machine.
     */
    private static boolean temporaryAppears(Path folder, Random random) throws Exception {
        long deadline = System.nanoTime() + 200_000_000L;
        while (System.nanoTime() < deadline) {
            if (!temporaries(folder).isEmpty()) {
                Thread.sleep(random.nextInt(2));
                return true;
            }
            Thread.onSpinWait();
        }
        return false;
    }

    private static Process child(String mode, Path file) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), Child.class.getName(), mode, file.toString());
        builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        return builder.redirectErrorStream(true).start();
    }

    /** Before saves went through a Java writer, this aborted the JVM (exit 134, c10::Error), hence the child. */
    @Test
    void saveOntoAFullDiskThrowsNamingThePathAndKeepsThePreviousFile() throws Exception {
        Path folder = tmpfs("1m");
        Path file = folder.resolve("opt.ckpt");
        saveSmall(file);
        byte[] before = Files.readAllBytes(file);
        for (int free : new int[]{0, 2}) { // full before the first byte, and full in the middle of the archive
            fill(folder, free);
            Process child = child("save-big", file);
            String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), output);
            assertEquals(0, child.exitValue(), output);
            assertTrue(output.contains("IOException: cannot save the optimizer to " + file)
                    && output.contains("No space left on device"), output);
            assertArrayEquals(before, Files.readAllBytes(file), "the previous checkpoint, byte for byte");
            assertEquals(List.of(), temporaries(folder));
            try (Stream<Path> files = Files.list(folder)) {
                for (Path filler : files.filter(p -> p.getFileName().toString().startsWith("filler")).toList()) {
                    Files.delete(filler);
                }
            }
        }
        try (var opt = CheckpointTest.optimizer(CheckpointTest.params(), OptList.config(0))) {
            opt.load(file);
            assertEquals(2, opt.stepCount());
        }
    }

    @Test
    void saveIntoAReadOnlyFolderThrowsNamingThePathAndKeepsThePreviousFile() throws Exception {
        Path folder = tmpfs("1m");
        Path file = folder.resolve("opt.ckpt");
        saveSmall(file);
        byte[] before = Files.readAllBytes(file);
        Assumptions.assumeTrue(command("mount", "-o", "remount,ro", folder.toString()) == 0,
                "cannot remount the tmpfs read-only");
        try {
            Tensor[] params = CheckpointTest.params();
            try (var opt = CheckpointTest.optimizer(params, OptList.config(0))) {
                CheckpointTest.run(opt, params, 0, 3);
                IOException e = assertThrows(IOException.class, () -> opt.save(file));
                assertTrue(e.getMessage().contains("cannot save the optimizer to " + file)
                        && e.getMessage().contains("Read-only file system"), e.getMessage());
                assertFalse(e.getMessage().contains(".tmp"), "names the user's path, not the temporary one");
                assertEquals(3, opt.stepCount());
            }
            assertArrayEquals(before, Files.readAllBytes(file));
            assertEquals(List.of(), temporaries(folder));
        } finally {
            command("mount", "-o", "remount,rw", folder.toString());
        }
    }

    /**
     * A process killed (SIGKILL) while saving, again and again, never leaves a damaged checkpoint: the file always
     * loads (its CRC32s checked) and holds the last or the next-to-complete save. At least one kill must have hit a
     * save in progress, which a temporary file left behind proves.
     */
    @Test
    void processKilledWhileSavingLeavesTheLastCompleteCheckpoint() throws Exception {
        Path file = dir.resolve("opt.ckpt");
        Random random = new Random(5);
        boolean killedMidSave = false;
        for (int attempt = 0; attempt < 12 && !killedMidSave; attempt++) {
            Process child = child("save-loop", file);
            BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            long lastSaved = -1;
            String line;
            StringBuilder output = new StringBuilder();
            while ((line = lines.readLine()) != null) {
                output.append(line).append('\n');
                if (line.startsWith("saved ")) {
                    lastSaved = Long.parseLong(line.substring(6));
                } else if (line.startsWith("saving ") && lastSaved >= 2 && temporaryAppears(dir, random)) {
                    break;
                }
            }
            assertTrue(lastSaved >= 2, output.toString());
            // Through its ProcessHandle, which sends SIGKILL at once: Process.destroyForcibly would close the child's
            // output before it is read to its end, and a kill command takes milliseconds to start, longer than the
            // rest of a save.
            assertTrue(child.toHandle().destroyForcibly());
            assertTrue(child.waitFor(60, TimeUnit.SECONDS));
            while ((line = lines.readLine()) != null) { // what it printed before the kill
                if (line.startsWith("saved ")) {
                    lastSaved = Long.parseLong(line.substring(6));
                }
            }
            killedMidSave = !temporaries(dir).isEmpty();
            try (var opt = bigOptimizer()) {
                opt.load(file);
                long step = opt.stepCount();
                assertTrue(step >= lastSaved && step <= lastSaved + 1, "step " + step + " after save " + lastSaved);
            }
            for (Path temporary : temporaries(dir)) {
                Files.delete(temporary);
            }
        }
        assertTrue(killedMidSave, "no kill landed inside a save in 12 attempts");
    }

    static NAdamWCosineDecay bigOptimizer() {
        Tensor[] params = {Tensor.create(new float[BIG], BIG).set_requires_grad(true),
                Tensor.create(new float[BIG], BIG).set_requires_grad(true)};
        return TestTensors.optimizer(new TensorVector(params), OptList.config(0), 1000);
    }

    /**
     * The child JVM: {@code save-big <file>} saves once and reports; {@code save-loop <file>} saves until killed,
     * saying when each save begins and ends.
     */
    static final class Child {
        public static void main(String[] args) throws IOException {
            Path file = Path.of(args[1]);
            try (NAdamWCosineDecay opt = bigOptimizer()) {
                for (long k = 1; ; k++) {
                    float[] grad = new float[BIG];
                    Arrays.fill(grad, k);
                    for (ParamGroup group : opt.paramGroups()) {
                        for (Tensor p : group.params()) {
                            p.mutable_grad().put(Tensor.create(grad, BIG));
                        }
                    }
                    opt.step();
                    if (args[0].equals("save-big")) {
                        try {
                            opt.save(file);
                            System.out.println("saved, though the disk is full");
                            System.exit(3);
                        } catch (IOException e) {
                            System.out.println("IOException: " + e.getMessage());
                            System.exit(0);
                        }
                    }
                    System.out.println("saving " + opt.stepCount());
                    System.out.flush();
                    opt.save(file);
                    System.out.println("saved " + opt.stepCount());
                    System.out.flush();
                }
            }
        }
    }
}
