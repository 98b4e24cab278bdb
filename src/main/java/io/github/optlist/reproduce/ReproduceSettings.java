package io.github.optlist.reproduce;

import io.github.optlist.internal.SettingException;
import io.github.optlist.internal.WorkerCounts;
import io.github.optlist.search.DivergenceRule;
import io.github.optlist.search.SearchSettings;

/**
 * How {@link Reproduce} runs its protocol: the training length, the random-search pool, the seed, the divergence
 * rule and the parallelism. {@link #protocol()} is the published protocol; {@link #quick()} a short run that
 * checks the plumbing, not the claim.
 *
 * @param steps            training steps of every trial; 0 runs each task at its own protocol length
 * @param poolSize         entries in the random-search pool, drawn from list indices {@code 10..999}, in
 *                         {@code [10, 990]} (at least 10 so that random search's best-of-10 exists)
 * @param poolSeed         seed of the pool's draw
 * @param seed             seed of every trial: the same initialization and batch order for every method on a task
 * @param divergence       when a trial is stopped early (and scores 1)
 * @param workers          trials run at once, {@code >= 1}
 * @param threadsPerWorker LibTorch intra-op threads of each worker; 0 divides the cores among the workers
 * @param blasThreads      OpenBLAS's process-wide thread count while the run trains, {@code >= 0}; 0 leaves it alone
 *                         (see {@link SearchSettings#blasThreads()})
 * @param pruningSeeds     trial seeds of the pruning study ({@link PruningStudy}), {@code seed .. seed +
 *                         pruningSeeds - 1}, in {@code [0, 100]}; 0 skips the study
 */
public record ReproduceSettings(long steps, int poolSize, long poolSeed, long seed, DivergenceRule divergence,
                                int workers, int threadsPerWorker, int blasThreads, int pruningSeeds) {

    /** The seed of the published pool. */
    public static final long POOL_SEED = 2020;

    /** The seeds of the pruning study that {@code opt-list reproduce} runs (one with {@code --quick}). */
    public static final int PRUNING_SEEDS = 5;

    /** Validates every field; messages name the value and what is allowed. */
    public ReproduceSettings {
        if (steps < 0) {
            throw new SettingException("steps", "must be >= 0 (0: each task's protocol length), got " + steps);
        }
        if (poolSize < Reproduce.K || poolSize > Protocol.POOL_RANGE) {
            throw new SettingException("poolSize", "must be in [" + Reproduce.K + ", " + Protocol.POOL_RANGE
                    + "], got " + poolSize);
        }
        if (divergence == null) {
            throw new IllegalArgumentException("divergence must not be null");
        }
        WorkerCounts.require(workers, threadsPerWorker);
        if (blasThreads < 0) {
            throw new SettingException("blasThreads", "must be >= 0 (0: leave OpenBLAS alone), got " + blasThreads);
        }
        if (pruningSeeds < 0 || pruningSeeds > 100) {
            throw new SettingException("pruningSeeds", "must be in [0, 100] (0: no pruning study), got "
                    + pruningSeeds);
        }
    }

    /** Settings without the pruning study ({@code pruningSeeds} 0). */
    public ReproduceSettings(long steps, int poolSize, long poolSeed, long seed, DivergenceRule divergence,
                             int workers, int threadsPerWorker, int blasThreads) {
        this(steps, poolSize, poolSeed, seed, divergence, workers, threadsPerWorker, blasThreads, 0);
    }

    /** Settings that leave OpenBLAS's thread count alone ({@code blasThreads} 0), without the pruning study. */
    public ReproduceSettings(long steps, int poolSize, long poolSeed, long seed, DivergenceRule divergence,
                             int workers, int threadsPerWorker) {
        this(steps, poolSize, poolSeed, seed, divergence, workers, threadsPerWorker, 0, 0);
    }

    /**
     * The protocol: each task at its protocol length, a pool of 30 entries, seed 0, the default divergence rule,
     * one worker, no pruning study ({@link #withPruningSeeds}; {@code opt-list reproduce} runs it over
     * {@value #PRUNING_SEEDS} seeds).
     */
    public static ReproduceSettings protocol() {
        return new ReproduceSettings(0, 30, POOL_SEED, 0, DivergenceRule.DEFAULT, 1, 0);
    }

    /** A plumbing check: 20 steps per trial and a pool of 10; its figures say nothing about the list. */
    public static ReproduceSettings quick() {
        return new ReproduceSettings(20, Reproduce.K, POOL_SEED, 0, DivergenceRule.DEFAULT, 1, 0);
    }

    /** These settings with {@code count} workers of {@code threadsEach} intra-op threads (0: divide the cores). */
    public ReproduceSettings withWorkers(int count, int threadsEach) {
        return new ReproduceSettings(steps, poolSize, poolSeed, seed, divergence, count, threadsEach, blasThreads,
                pruningSeeds);
    }

    /** These settings with another trial seed. */
    public ReproduceSettings withSeed(long newSeed) {
        return new ReproduceSettings(steps, poolSize, poolSeed, newSeed, divergence, workers, threadsPerWorker,
                blasThreads, pruningSeeds);
    }

    /** These settings with another divergence rule. */
    public ReproduceSettings withDivergence(DivergenceRule rule) {
        return new ReproduceSettings(steps, poolSize, poolSeed, seed, rule, workers, threadsPerWorker, blasThreads,
                pruningSeeds);
    }

    /** These settings with OpenBLAS's thread count set to {@code count} while the run trains (0: left alone). */
    public ReproduceSettings withBlasThreads(int count) {
        return new ReproduceSettings(steps, poolSize, poolSeed, seed, divergence, workers, threadsPerWorker, count,
                pruningSeeds);
    }

    /** These settings with the pruning study over {@code count} seeds (0: none). */
    public ReproduceSettings withPruningSeeds(int count) {
        return new ReproduceSettings(steps, poolSize, poolSeed, seed, divergence, workers, threadsPerWorker,
                blasThreads, count);
    }

    /** The intra-op threads each worker uses: as set, or the available cores divided among the workers. */
    public int intraOpThreads() {
        return threadsPerWorker > 0 ? threadsPerWorker
                : Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
    }

    /** Whether these are short runs ({@code steps > 0}) rather than each task's protocol length. */
    public boolean shortRuns() {
        return steps > 0;
    }

    /** The training length of {@code task}'s trials under these settings. */
    public long stepsFor(ReproduceTask task) {
        return steps > 0 ? steps : task.protocolSteps();
    }
}
