package io.github.optlist.distributed;

import java.time.Duration;
import java.util.Map;

/**
 * Where and how a rank joins its {@link TrainingGroup}: the address and port of the rendezvous store that rank 0
 * serves, this rank, the number of ranks, the rank on this machine, the backend, and the timeout every wait of the
 * group is bounded by (rendezvous, collectives, barriers).
 *
 * <p>The constructor refuses, with an {@link IllegalArgumentException} naming the value: a blank address, a port
 * outside {@code [1, 65535]}, a world size below 1, a rank outside {@code [0, worldSize)}, a negative local rank,
 * a null backend, and a timeout that is null, zero, negative, or longer than a day.
 *
 * @param masterAddr host name or address of rank 0 (torchrun's {@code MASTER_ADDR})
 * @param masterPort TCP port rank 0 serves the store on ({@code MASTER_PORT})
 * @param rank       this process's rank ({@code RANK})
 * @param worldSize  the number of ranks ({@code WORLD_SIZE})
 * @param localRank  the rank on this machine, the CUDA device index under NCCL ({@code LOCAL_RANK})
 * @param backend    the c10d backend
 * @param timeout    the bound on every wait
 */
public record GroupSettings(String masterAddr, int masterPort, int rank, int worldSize, int localRank,
                            Backend backend, Duration timeout) {

    /** The timeout when none is given: long enough for JVMs starting on a loaded machine. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

    /** Validates the settings; see the class description. */
    public GroupSettings {
        if (masterAddr == null || masterAddr.isBlank()) {
            throw new IllegalArgumentException("masterAddr must not be blank, got " + (masterAddr == null ? "null"
                    : "'" + masterAddr + "'"));
        }
        if (masterPort < 1 || masterPort > 65535) {
            throw new IllegalArgumentException("masterPort must be in [1, 65535], got " + masterPort);
        }
        if (worldSize < 1) {
            throw new IllegalArgumentException("worldSize must be at least 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank must be in [0, " + worldSize + ") for worldSize " + worldSize
                    + ", got " + rank);
        }
        if (localRank < 0) {
            throw new IllegalArgumentException("localRank must not be negative, got " + localRank);
        }
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        if (timeout == null || timeout.isZero() || timeout.isNegative() || timeout.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("timeout must be positive and at most a day, got " + timeout);
        }
    }

    /**
     * Settings for the CPU (Gloo) with the local rank equal to the rank.
     *
     * @throws IllegalArgumentException as the constructor
     */
    public static GroupSettings gloo(String masterAddr, int masterPort, int rank, int worldSize, Duration timeout) {
        return new GroupSettings(masterAddr, masterPort, rank, worldSize, rank, Backend.GLOO, timeout);
    }

    /**
     * Settings from torchrun's environment variables {@code MASTER_ADDR}, {@code MASTER_PORT}, {@code RANK},
     * {@code WORLD_SIZE} and {@code LOCAL_RANK} (the last defaults to {@code RANK}) of this process.
     *
     * @throws IllegalArgumentException if a variable is missing or not a number, or as the constructor
     */
    public static GroupSettings fromEnvironment(Backend backend, Duration timeout) {
        return fromEnvironment(System.getenv(), backend, timeout);
    }

    /**
     * Settings from torchrun's variables in {@code env}; see {@link #fromEnvironment(Backend, Duration)}.
     *
     * @throws IllegalArgumentException if a variable is missing or not a number, or as the constructor
     */
    public static GroupSettings fromEnvironment(Map<String, String> env, Backend backend,
                                                Duration timeout) {
        if (env == null) {
            throw new IllegalArgumentException("env must not be null");
        }
        String addr = required(env, "MASTER_ADDR");
        int port = number(env, "MASTER_PORT");
        int rank = number(env, "RANK");
        int worldSize = number(env, "WORLD_SIZE");
        int localRank = env.containsKey("LOCAL_RANK") ? number(env, "LOCAL_RANK") : rank;
        return new GroupSettings(addr, port, rank, worldSize, localRank, backend, timeout);
    }

    private static String required(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("environment variable " + name + " is not set; start the ranks with"
                    + " 'bin/opt-list launch' or torchrun, or pass the settings explicitly");
        }
        return value.trim();
    }

    private static int number(Map<String, String> env, String name) {
        String value = required(env, name);
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("environment variable " + name + " must be an integer, got '"
                    + value + "'", e);
        }
    }

    /** The c10d communication backend a {@link TrainingGroup} runs on. */
    public enum Backend {
        /** Gloo: tensors on the CPU. Tested on loopback. */
        GLOO,
        /**
         * NCCL: tensors on CUDA devices, one device per rank ({@code LOCAL_RANK}). Needs the {@code -Pcuda} build (the
         * {@code -gpu} natives); built but not verified (no GPU where this was written).
         */
        NCCL
    }
}
