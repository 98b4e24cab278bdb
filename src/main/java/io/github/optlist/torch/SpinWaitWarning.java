package io.github.optlist.torch;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The warning the first optimizer of a process logs when LibTorch's OpenMP threads may busy-wait on a machine with
 * few cores, where they take the cores from each other and from the JVM between ops.
 */
final class SpinWaitWarning {

    /** At most this many cores and the default wait policy: measured slow on 2 cores. */
    static final int MOST_CORES_WARNED = 4;

    private static final AtomicBoolean LOGGED = new AtomicBoolean();
    private static final System.Logger LOGGER = System.getLogger(NAdamWCosineDecay.class.getName());

    private SpinWaitWarning() {
    }

    /**
     * The warning for a process with {@code ompWaitPolicy} (the environment variable's value, null when unset) and
     * {@code cores} available processors: present when the variable is unset or blank and there are at most
     * {@value #MOST_CORES_WARNED} cores; any value set is the user's choice and silences it.
     */
    static Optional<String> message(String ompWaitPolicy, int cores) {
        if (ompWaitPolicy != null && !ompWaitPolicy.isBlank() || cores > MOST_CORES_WARNED) {
            return Optional.empty();
        }
        return Optional.of("OMP_WAIT_POLICY is not set and this JVM has " + cores + (cores == 1 ? " core" : " cores")
                + ": LibTorch's OpenMP threads may spin-wait between ops and take the cores from each other and from"
                + " the JVM (measured on 2 cores: 3000 training steps of a small MLP took 46 s instead of 4 s, 11x"
                + " slower). Set OMP_WAIT_POLICY=PASSIVE in the environment before the JVM starts.");
    }

    /** Logs the warning for this process once, at the first call that has one; later calls log nothing. */
    static void logOncePerProcess() {
        logOnce(LOGGED, System.getenv("OMP_WAIT_POLICY"), Runtime.getRuntime().availableProcessors(),
                text -> LOGGER.log(System.Logger.Level.WARNING, text));
    }

    /** Sends the warning for ({@code ompWaitPolicy}, {@code cores}) to {@code log} unless {@code logged} is set. */
    static void logOnce(AtomicBoolean logged, String ompWaitPolicy, int cores, Consumer<String> log) {
        if (logged.get()) {
            return;
        }
        message(ompWaitPolicy, cores).ifPresent(text -> {
            if (logged.compareAndSet(false, true)) {
                log.accept(text);
            }
        });
    }
}
