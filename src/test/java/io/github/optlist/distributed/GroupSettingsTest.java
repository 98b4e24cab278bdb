package io.github.optlist.distributed;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings and joining refused in this JVM, before or without any peer. */
class GroupSettingsTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    @Test
    void torchrunVariablesGiveTheSettings() {
        GroupSettings settings = GroupSettings.fromEnvironment(Map.of("MASTER_ADDR", "10.0.0.1", "MASTER_PORT",
                "29500", "RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "1"), GroupSettings.Backend.GLOO, TIMEOUT);
        assertEquals(new GroupSettings("10.0.0.1", 29500, 3, 8, 1, GroupSettings.Backend.GLOO, TIMEOUT), settings);
    }

    @Test
    void rankOutOfRangeIsRefusedBeforeAnythingStarts() throws IOException {
        int port = Launcher.freePort();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GroupSettings.fromEnvironment(
                Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port), "RANK", "2",
                        "WORLD_SIZE", "2"), GroupSettings.Backend.GLOO, TIMEOUT));
        assertEquals("rank must be in [0, 2) for worldSize 2, got 2", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GroupSettings.gloo("127.0.0.1", port, -1, 2, TIMEOUT));
        // Nothing bound the port.
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertTrue(socket.isBound());
        }
    }

    @Test
    void missingOrMalformedVariablesAreNamed() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> GroupSettings.fromEnvironment(Map.of("MASTER_ADDR", "h", "RANK", "0", "WORLD_SIZE", "1"),
                        GroupSettings.Backend.GLOO, TIMEOUT));
        assertTrue(missing.getMessage().startsWith("environment variable MASTER_PORT is not set"),
                missing.getMessage());
        IllegalArgumentException malformed = assertThrows(IllegalArgumentException.class,
                () -> GroupSettings.fromEnvironment(Map.of("MASTER_ADDR", "h", "MASTER_PORT", "x", "RANK", "0",
                        "WORLD_SIZE", "1"), GroupSettings.Backend.GLOO, TIMEOUT));
        assertEquals("environment variable MASTER_PORT must be an integer, got 'x'", malformed.getMessage());
    }

    @Test
    void badValuesAreRefusedNamingThem() {
        for (Runnable bad : List.<Runnable>of(
                () -> GroupSettings.gloo(" ", 1, 0, 1, TIMEOUT),
                () -> GroupSettings.gloo("h", 0, 0, 1, TIMEOUT),
                () -> GroupSettings.gloo("h", 65536, 0, 1, TIMEOUT),
                () -> GroupSettings.gloo("h", 1, 0, 0, TIMEOUT),
                () -> GroupSettings.gloo("h", 1, 0, 1, Duration.ZERO),
                () -> new GroupSettings("h", 1, 0, 1, -1, GroupSettings.Backend.GLOO, TIMEOUT),
                () -> new GroupSettings("h", 1, 0, 1, 0, null, TIMEOUT))) {
            assertThrows(IllegalArgumentException.class, bad::run);
        }
    }

    @Test
    void unreachableMasterFailsWithinTheTimeoutNamingIt() {
        int port = Launcher.freePort();
        DistributedException e = assertThrows(DistributedException.class,
                () -> TrainingGroup.join(GroupSettings.gloo("127.0.0.1", port, 1, 2, TIMEOUT)));
        assertTrue(e.getMessage().startsWith("rank 1 cannot reach the master at 127.0.0.1:" + port + " within 2 s"),
                e.getMessage());
    }

    @Test
    void aRankThatNeverJoinsIsNamedByRankZeroAfterTheTimeoutAndThePortIsFreedAgain() throws IOException {
        int port = Launcher.freePort();
        DistributedException e = assertThrows(DistributedException.class,
                () -> TrainingGroup.join(GroupSettings.gloo("127.0.0.1", port, 0, 2, TIMEOUT)));
        assertTrue(e.getMessage().startsWith("ranks [1] of 2 did not join within 2 s"), e.getMessage());
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertTrue(socket.isBound());
        }
    }

    @Test
    void aSingleRankGroupNeedsNoPeer() {
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("127.0.0.1", Launcher.freePort(), 0, 1,
                TIMEOUT))) {
            assertEquals(1, group.worldSize());
            group.barrier();
        }
    }

    @Test
    void launchSettingsRefuseBadValues() {
        assertThrows(IllegalArgumentException.class, () -> new Launcher.Settings(0, 0, "cp", "Main", List.of(),
                List.of(), Map.of(), true, null));
        assertThrows(IllegalArgumentException.class, () -> new Launcher.Settings(2, 0, "cp", " ", List.of(),
                List.of(), Map.of(), true, null));
        assertThrows(IllegalArgumentException.class, () -> new Launcher.Settings(2, 0, "cp", "Main", List.of(),
                List.of(), Map.of(), true, Duration.ZERO));
    }
}
