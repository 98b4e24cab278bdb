package io.github.optlist.search;

import io.github.optlist.OptList;
import io.github.optlist.ScheduleVariant;

import java.util.List;
import java.util.stream.IntStream;

/**
 * What a search runs: a task name, the training length, the seed, which list indices ({@code trials} of them from
 * {@code start}, in list order, those of {@code shard}), how trials are judged, and how many run at once.
 *
 * @param task             names the task; recorded in the results so a resume on another task is refused
 * @param trainingSteps    training length of every trial, {@code > 0}
 * @param seed             seed every trial gets
 * @param start            first list index, in {@code [0, OptList.size())}
 * @param trials           number of list indices from {@code start}, at least 1, at most to the end of the list
 * @param shard            which of the indices this process runs
 * @param direction        whether lower or higher objectives are better
 * @param divergence       when a trial is stopped early
 * @param variant          the schedule variant of every optimizer
 * @param workers          trials run at once in this process, {@code >= 1}
 * @param threadsPerWorker LibTorch intra-op threads of each worker; 0 divides the cores among the workers
 */
public record SearchSettings(String task, long trainingSteps, long seed, int start, int trials, Shard shard,
                             Direction direction, DivergenceRule divergence, ScheduleVariant variant, int workers,
                             int threadsPerWorker) {

    /** Validates every field; messages name the value and what is allowed. */
    public SearchSettings {
        if (task == null || task.isBlank()) {
            throw new IllegalArgumentException("task must be a non-blank name, got '" + task + "'");
        }
        if (trainingSteps <= 0) {
            throw new IllegalArgumentException("trainingSteps must be > 0, got " + trainingSteps);
        }
        OptList.requireIndex(start);
        if (trials < 1 || trials > OptList.size() - start) {
            throw new IllegalArgumentException("trials must be in [1, " + (OptList.size() - start) + "] from start "
                    + start + ", got " + trials);
        }
        if (shard == null || direction == null || divergence == null || variant == null) {
            throw new IllegalArgumentException("shard, direction, divergence and variant must not be null");
        }
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        if (threadsPerWorker < 0) {
            throw new IllegalArgumentException("threadsPerWorker must be >= 0 (0: divide the cores), got "
                    + threadsPerWorker);
        }
    }

    /** Settings with the defaults: seed 0, from index 0, unsharded, minimizing, default divergence, TASKSET, one worker. */
    public static SearchSettings of(String task, long trainingSteps, int trials) {
        return new SearchSettings(task, trainingSteps, 0, 0, trials, Shard.ALL, Direction.MINIMIZE,
                DivergenceRule.DEFAULT, ScheduleVariant.TASKSET, 1, 0);
    }

    /** These settings with another seed. */
    public SearchSettings withSeed(long newSeed) {
        return new SearchSettings(task, trainingSteps, newSeed, start, trials, shard, direction, divergence, variant,
                workers, threadsPerWorker);
    }

    /** These settings with another first index. */
    public SearchSettings withStart(int newStart) {
        return new SearchSettings(task, trainingSteps, seed, newStart, trials, shard, direction, divergence, variant,
                workers, threadsPerWorker);
    }

    /** These settings for one shard. */
    public SearchSettings withShard(Shard newShard) {
        return new SearchSettings(task, trainingSteps, seed, start, trials, newShard, direction, divergence, variant,
                workers, threadsPerWorker);
    }

    /** These settings with another objective direction. */
    public SearchSettings withDirection(Direction newDirection) {
        return new SearchSettings(task, trainingSteps, seed, start, trials, shard, newDirection, divergence, variant,
                workers, threadsPerWorker);
    }

    /** These settings with another divergence rule. */
    public SearchSettings withDivergence(DivergenceRule newDivergence) {
        return new SearchSettings(task, trainingSteps, seed, start, trials, shard, direction, newDivergence, variant,
                workers, threadsPerWorker);
    }

    /** These settings with another schedule variant. */
    public SearchSettings withVariant(ScheduleVariant newVariant) {
        return new SearchSettings(task, trainingSteps, seed, start, trials, shard, direction, divergence, newVariant,
                workers, threadsPerWorker);
    }

    /** These settings with {@code newWorkers} workers of {@code newThreadsPerWorker} intra-op threads (0: divide). */
    public SearchSettings withWorkers(int newWorkers, int newThreadsPerWorker) {
        return new SearchSettings(task, trainingSteps, seed, start, trials, shard, direction, divergence, variant,
                newWorkers, newThreadsPerWorker);
    }

    /** The list indices this process runs, in list order. */
    public List<Integer> indices() {
        return IntStream.range(start, start + trials).filter(shard::contains).boxed().toList();
    }

    /** The intra-op threads each worker uses: as set, or the available cores divided among the workers. */
    public int intraOpThreads() {
        return threadsPerWorker > 0 ? threadsPerWorker
                : Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
    }
}
