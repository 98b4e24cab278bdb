package io.github.optlist.cli;

import io.github.optlist.search.DivergenceRule;
import picocli.CommandLine.Option;

/**
 * The options of every command that trains: how many trials run at once and with how many threads, the seed, and
 * when a trial is stopped as diverged. A picocli mixin of {@code search} and {@code reproduce}.
 */
final class RunOptions {

    @Option(names = "--seed", defaultValue = "0", description = "Seed of every trial (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--workers", defaultValue = "1", description = "Trials run at once (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--threads-per-worker", defaultValue = "0",
            description = "LibTorch threads of each worker; 0 divides the cores (default: ${DEFAULT-VALUE}).")
    int threadsPerWorker;

    @Option(names = "--diverge-factor", defaultValue = "10",
            description = "Stop a trial whose loss exceeds this multiple of its first loss"
                    + " (default: ${DEFAULT-VALUE}).")
    double divergeFactor;

    @Option(names = "--diverge-grace", defaultValue = "0",
            description = "Steps exempt from the factor test (default: ${DEFAULT-VALUE}).")
    long divergeGrace;

    @Option(names = "--blas-threads", paramLabel = "N", description = "OpenBLAS threads while the run trains, for"
            + " the whole process (OpenBLAS has one count; LibTorch's CPU matrix products use it); 0 leaves OpenBLAS"
            + " alone (default: the threads of each worker).")
    Integer blasThreads;

    /**
     * OpenBLAS's thread count of the run: as given, else {@code perWorker}, the intra-op threads of each worker.
     * Left at one thread per core, OpenBLAS oversubscribes the cores the workers share: a spirals trial took 16 s
     * instead of 1.8 s on a loaded 2-core machine.
     */
    int blasThreads(int perWorker) {
        return blasThreads != null ? blasThreads : perWorker;
    }

    /** The divergence rule of the options. */
    DivergenceRule divergence() {
        return new DivergenceRule(divergeFactor, divergeGrace);
    }
}
