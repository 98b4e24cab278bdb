package io.github.optlist.distributed;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Where rank 0's store listens, what is refused before a group or a launch starts, and how a launch reports. */
class RendezvousTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    /** The local addresses (as /proc/net/tcp[6] writes them, hex) of the sockets listening on {@code port}. */
    private static List<String> listeningAddresses(int port) throws IOException {
        List<String> found = new ArrayList<>();
        String hexPort = String.format(Locale.ROOT, "%04X", port);
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path file = Path.of(table);
            if (!Files.exists(file)) {
                continue;
            }
            for (String line : Files.readAllLines(file).subList(1, Files.readAllLines(file).size())) {
                String[] fields = line.trim().split("\\s+");
                String[] local = fields[1].split(":");
                // State 0A is LISTEN.
                if (local[1].equals(hexPort) && fields[3].equals("0A")) {
                    found.add(table.substring(table.lastIndexOf('/') + 1) + " " + local[0]);
                }
            }
        }
        return found;
    }

    @Test
    void rankZeroServesTheStoreOnTheLoopbackAddressOnly() throws IOException {
        assumeTrue(Files.exists(Path.of("/proc/net/tcp")), "reads the listening sockets from Linux's /proc/net");
        int port = Launcher.freePort();
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("127.0.0.1", port, 0, 1, TIMEOUT))) {
            group.barrier();
            // 127.0.0.1 as /proc/net/tcp prints it (little-endian hex); c10d alone listens on 0.0.0.0 or ::.
            assertEquals(List.of("tcp 0100007F"), listeningAddresses(port));
        }
        assertEquals(List.of(), listeningAddresses(port), "the store's socket is closed with the group");
    }

    @Test
    void anIpv6LoopbackMasterIsServedOnThatAddressOnly() throws IOException {
        assumeTrue(Files.exists(Path.of("/proc/net/if_inet6"))
                && Files.readString(Path.of("/proc/net/if_inet6")).contains("00000000000000000000000000000001"),
                "needs the IPv6 loopback address ::1");
        int port = Launcher.freePort();
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("::1", port, 0, 1, TIMEOUT))) {
            group.barrier();
            assertEquals(List.of("tcp6 00000000000000000000000001000000"), listeningAddresses(port));
        }
    }

    @Test
    void aPortInUseIsRefusedNamingItAndLeavesNoDescriptorOpen() throws IOException {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "counts descriptors in Linux's /proc/self/fd");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            // Loads LibTorch's and Gloo's libraries before counting: they open descriptors of their own once.
            TrainingGroup.join(GroupSettings.gloo("127.0.0.1", Launcher.freePort(), 0, 1, TIMEOUT)).close();
            long before = openDescriptors();
            DistributedException e = assertThrows(DistributedException.class,
                    () -> TrainingGroup.join(GroupSettings.gloo("127.0.0.1", port, 0, 2, TIMEOUT)));
            assertTrue(e.getMessage().startsWith("rank 0 cannot serve the rendezvous store on 127.0.0.1:" + port
                    + " (port in use?"), e.getMessage());
            assertTrue(e.getMessage().contains("Address already in use"), e.getMessage());
            assertEquals(before, openDescriptors());
        }
    }

    /**
     * The open sockets: what a store left open would be. Other descriptors are left out, since other threads of the
     * test JVM (class loading, the JIT, a finished test's child process) open and close files at any time.
     */
    private static long openDescriptors() throws IOException {
        try (var files = Files.list(Path.of("/proc/self/fd"))) {
            return files.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith("socket:");
                } catch (IOException e) {
                    return false; // closed while listed
                }
            }).count();
        }
    }

    @Test
    void ncclOnALocalRankWithoutACudaDeviceIsRefusedBeforeTheStoreOpens() throws IOException {
        int port = Launcher.freePort();
        // No machine has 65 CUDA devices: refused on a GPU machine too.
        DistributedException e = assertThrows(DistributedException.class, () -> TrainingGroup.join(
                new GroupSettings("127.0.0.1", port, 0, 1, 64, GroupSettings.Backend.NCCL, TIMEOUT)));
        assertTrue(e.getMessage().startsWith("rank 0 cannot use NCCL: its local rank 64 names CUDA device cuda:64,"
                + " but this machine has "), e.getMessage());
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertTrue(socket.isBound(), "the store was never opened");
        }
    }

    @Test
    void aMainClassNotOnTheClassPathIsRefusedBeforeAnyRankStarts() {
        List<String> lines = new ArrayList<>();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Launcher.run(Launcher.Settings.of(2, "no.such.Main", List.of()), lines::add));
        assertTrue(e.getMessage().startsWith("main class no.such.Main is not on the ranks' class path"),
                e.getMessage());
        assertEquals(List.of(), lines);
        assertTrue(ProcessHandle.current().descendants().noneMatch(ProcessHandle::isAlive), "a rank was started");
    }

    @Test
    void theMainClassIsFoundInAFolderOfJarsWithoutRunningIt() throws IOException {
        Path lib = Files.createDirectories(dir.resolve("lib"));
        String entry = Boom.class.getName().replace('.', '/') + ".class";
        try (InputStream in = Boom.class.getClassLoader().getResourceAsStream(entry);
             OutputStream file = Files.newOutputStream(lib.resolve("app.jar"));
             JarOutputStream jar = new JarOutputStream(file)) {
            jar.putNextEntry(new JarEntry(entry));
            in.transferTo(jar);
        }
        // Found in lib/* (Boom's static initializer would throw if it ran), and not without the folder.
        MainClassCheck.require(dir.resolve("elsewhere") + java.io.File.pathSeparator + lib.resolve("*"),
                Boom.class.getName());
        assertThrows(IllegalArgumentException.class,
                () -> MainClassCheck.require(dir.resolve("elsewhere").toString(), Boom.class.getName()));
    }

    /** A main class whose initialization fails: the launcher's check must load it without initializing it. */
    static final class Boom {
        static {
            if (true) {
                throw new IllegalStateException("initialized by the check");
            }
        }

        public static void main(String[] args) {
        }
    }

    @Test
    void theSummaryNamesTheRankThatStoppedAnsweringRatherThanTheOneThatTimedOut() {
        assertEquals("rank 1 stopped answering: rank 0 timed out waiting for it and exited with code 3; every rank"
                + " was stopped", new Launcher.Result(3, List.of(3, 143), 0, List.of(1)).summary(true));
        assertEquals("ranks [1, 2] stopped answering: rank 0 timed out waiting for them and exited with code 3",
                new Launcher.Result(3, List.of(3, 143, 143), 0, List.of(1, 2)).summary(false));
        assertEquals("rank 1 failed with exit code 9; the other ranks were stopped",
                new Launcher.Result(9, List.of(3, 9), 1).summary(true));
        assertEquals("time limit reached, every rank stopped", new Launcher.Result(124, List.of(143, 143), -1)
                .summary(true));
        assertFalse(new Launcher.Result(0, List.of(0, 0), -1).summary(true).contains("failed"));
    }
}
