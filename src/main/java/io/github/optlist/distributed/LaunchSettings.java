package io.github.optlist.distributed;

import java.time.Duration;
import java.util.List;
import java.util.Map;

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
public record LaunchSettings(int nproc, int masterPort, String classpath, String mainClass, List<String> args,
                             List<String> javaOptions, Map<String, String> extraEnv, boolean stopAllOnFailure,
                             Duration timeLimit) {

    /** Validates and copies; see the class description. */
    public LaunchSettings {
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
    public static LaunchSettings of(int nproc, String mainClass, List<String> args) {
        return new LaunchSettings(nproc, 0, System.getProperty("java.class.path"), mainClass, args, List.of(),
                Map.of(), true, null);
    }
}
