package io.github.optlist.search;

import io.github.optlist.internal.FolderLockedException;
import io.github.optlist.internal.FolderLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FolderLockTest {

    @TempDir
    Path dir;

    static SearchSettings settings(int trials) {
        return SearchSettings.builder("fixed", 2, trials).build();
    }

    /** A trial that trains nothing: cheap, and needs no LibTorch. */
    static final Trial FIXED = context -> {
        context.reportLoss(0, 1.0);
        return 0.5 + context.index();
    };

    @Test
    void secondWriterInTheSameJvmIsRefusedAtOnceNamingTheHolder() throws Exception {
        try (FolderLock held = FolderLock.acquire(dir, "search")) {
            var e = assertThrows(FolderLockedException.class, () -> SearchReport.rebuild(dir));
            assertTrue(e.getMessage().contains("in use by search (pid " + ProcessHandle.current().pid() + " on "),
                    e.getMessage());
            assertTrue(e.getMessage().contains(" since 20"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("results.jsonl")), "the refused report wrote nothing");
            assertTrue(Files.readString(held.file()).contains("pid " + ProcessHandle.current().pid()),
                    "the lock file says who holds it");
        }
        SearchResult after = Search.run(settings(2), FIXED, dir, SearchListener.NONE);
        assertEquals(2, after.trials().size(), "a released lock can be taken again");
    }

    @Test
    void lockTakenByOtherCodeOfThisJvmIsHeldAndStaysHeldAfterTheRefusal() throws Exception {
        Path lockFile = dir.resolve(FolderLock.MAIN);
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = channel.lock()) {
            // Java throws OverlappingFileLockException for a second lock by the same JVM on another channel
            var e = assertThrows(FolderLockedException.class, () -> FolderLock.acquire(dir, "search"));
            assertTrue(e.getMessage().contains("another part of this process"), e.getMessage());
            // On Linux, closing the refused attempt's channel would drop this JVM's lock: another process must
            // still find the folder locked.
            assertEquals("held", childTryLock(dir));
        }
        assertEquals("free", childTryLock(dir));
    }

    @Test
    void writerInAnotherProcessIsRefusedAndItsKillLeavesTheFolderLockable() throws Exception {
        Process child = startChild(dir, "hold");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            assertEquals("locked", out.readLine());
            var e = assertThrows(FolderLockedException.class, () -> SearchReport.rebuild(dir));
            assertTrue(e.getMessage().contains("in use by child (pid " + child.pid() + " on "), e.getMessage());
            assertThrows(FolderLockedException.class, () -> FolderLock.acquire(dir, "search"));
        } finally {
            child.destroyForcibly(); // SIGKILL on Unix: the child cannot release anything itself
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals(137, child.exitValue(), "killed by signal 9");
        SearchResult after = Search.run(settings(2), FIXED, dir, SearchListener.NONE);
        assertEquals(2, after.trials().size(), "the killed holder left no lock behind");
    }

    @Test
    void folderThatIsAFileIsRefusedWithoutTouchingIt() throws Exception {
        Path file = dir.resolve("afile");
        Files.writeString(file, "mine");
        var e = assertThrows(IllegalArgumentException.class,
                () -> Search.run(settings(1), FIXED, file, SearchListener.NONE));
        assertEquals(file + " is a file, not a folder", e.getMessage());
        assertEquals("mine", Files.readString(file));
    }

    /** Whether another process finds {@code folder}'s main lock held ("held") or takes it ("free"). */
    static String childTryLock(Path folder) throws Exception {
        Process child = startChild(folder, "try");
        String answer = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), answer);
        return answer;
    }

    static Process startChild(Path folder, String mode) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "-Xmx64m", "-cp",
                System.getProperty("java.class.path"), ChildMain.class.getName(), mode, folder.toString());
        builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        builder.redirectError(ProcessBuilder.Redirect.INHERIT);
        return builder.start();
    }

    /** The other process: holds the lock until killed ("hold"), or says whether it could take it ("try"). */
    static final class ChildMain {
        public static void main(String[] args) throws Exception {
            Path folder = Path.of(args[1]);
            if (args[0].equals("hold")) {
                FolderLock lock = FolderLock.acquire(folder, "child");
                System.out.println("locked");
                System.out.flush();
                Thread.sleep(120_000);
                lock.close();
                return;
            }
            try (FolderLock lock = FolderLock.acquire(folder, "child")) {
                System.out.println("free");
            } catch (FolderLockedException e) {
                System.out.println("held");
            }
        }
    }
}
