package io.github.optlist.search;

import io.github.optlist.internal.SettingException;
import io.github.optlist.internal.WorkerCounts;
import io.github.optlist.ListVariant;
import io.github.optlist.OptList;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * What a search runs: a task name, the training length, the seed, which candidates (by default {@code trials} list
 * indices from {@code start}, in list order, under {@code variant}; or an explicit list of {@link Candidate}s),
 * how trials are judged, and how many run at once.
 *
 * @param task             names the task; recorded in the results so a resume on another task is refused
 * @param trainingSteps    training length of every trial, {@code > 0}
 * @param seed             seed every trial gets
 * @param start            first list index, in {@code [0, OptList.size())}; 0 with explicit candidates
 * @param trials           number of list indices from {@code start}, at least 1, at most to the end of the list;
 *                         the number of explicit candidates when there are some
 * @param direction        whether lower or higher objectives are better
 * @param divergence       when a trial is stopped early
 * @param variant          the list variant of the list indices from {@code start} (explicit candidates carry
 *                         their own)
 * @param workers          trials run at once in this process, {@code >= 1}
 * @param threadsPerWorker LibTorch intra-op threads of each worker; 0 divides the cores among the workers
 * @param candidates       explicit candidates, run in this order instead of the list indices from {@code start};
 *                         empty for those indices
 * @param blasThreads      OpenBLAS's thread count while the search runs, {@code >= 0}; 0 (the default) leaves
 *                         OpenBLAS alone. OpenBLAS has one count for the whole process, which
 *                         {@code threadsPerWorker} does not reach although LibTorch's matrix products on the CPU
 *                         use it: with several workers, its default of one thread per core oversubscribes the
 *                         cores. A count above 0 is set when the search starts and put back when it ends; it
 *                         applies to everything else the process runs meanwhile. The command line sets it to
 *                         {@link #intraOpThreads()}.
 * @param pruner           whether and how trials whose training loss trails the completed trials' are stopped
 *                         early ({@link PrunerSettings#none()} by default)
 * @param budget           the compute budget in full trials ({@link Budget#NONE} by default: every candidate
 *                         runs)
 */
public record SearchSettings(String task, long trainingSteps, long seed, int start, int trials,
                             Direction direction, DivergenceRule divergence, ListVariant variant, int workers,
                             int threadsPerWorker, List<Candidate> candidates, int blasThreads, PrunerSettings pruner,
                             Budget budget) {

    /**
     * Validates every field; messages name the value and what is allowed. A refused field throws a
     * {@link SettingException} naming it (e.g. {@code trainingSteps}), which the command line names by its option.
     */
    public SearchSettings {
        if (task == null || task.isBlank()) {
            throw new SettingException("task", "must be a non-blank name, got '" + task + "'");
        }
        if (trainingSteps <= 0) {
            throw new SettingException("trainingSteps", "must be > 0, got " + trainingSteps);
        }
        if (candidates == null) {
            throw new IllegalArgumentException("candidates must not be null (empty: the list indices from start)");
        }
        candidates = List.copyOf(candidates);
        if (candidates.isEmpty()) {
            if (start < 0 || start >= OptList.size()) {
                throw new SettingException("start", "must be a list index, in [0, " + OptList.size() + "), got "
                        + start);
            }
            if (trials < 1 || trials > OptList.size() - start) {
                throw new SettingException("trials", "must be in [1, " + (OptList.size() - start)
                        + "] from {start} " + start + ", got " + trials);
            }
        } else {
            if (start != 0 || trials != candidates.size()) {
                throw new IllegalArgumentException("with explicit candidates start must be 0 and trials their number "
                        + candidates.size() + ", got start " + start + " and trials " + trials);
            }
            Set<String> labels = new HashSet<>();
            for (Candidate c : candidates) {
                if (!labels.add(c.label())) {
                    throw new IllegalArgumentException("candidate label '" + c.label() + "' appears twice");
                }
            }
        }
        if (direction == null || divergence == null || variant == null) {
            throw new IllegalArgumentException("direction, divergence and variant must not be null");
        }
        WorkerCounts.require(workers, threadsPerWorker);
        if (blasThreads < 0) {
            throw new SettingException("blasThreads", "must be >= 0 (0: leave OpenBLAS alone), got " + blasThreads);
        }
        if (pruner == null || budget == null) {
            throw new IllegalArgumentException("pruner and budget must not be null (none: PrunerSettings.none(),"
                    + " Budget.NONE)");
        }
    }

    /** Settings without pruning and without a compute budget. */
    public SearchSettings(String task, long trainingSteps, long seed, int start, int trials,
                          Direction direction, DivergenceRule divergence, ListVariant variant, int workers,
                          int threadsPerWorker, List<Candidate> candidates, int blasThreads) {
        this(task, trainingSteps, seed, start, trials, direction, divergence, variant, workers,
                threadsPerWorker, candidates, blasThreads, PrunerSettings.none(), Budget.NONE);
    }

    /** Settings that leave OpenBLAS's thread count alone ({@code blasThreads} 0). */
    public SearchSettings(String task, long trainingSteps, long seed, int start, int trials,
                          Direction direction, DivergenceRule divergence, ListVariant variant, int workers,
                          int threadsPerWorker, List<Candidate> candidates) {
        this(task, trainingSteps, seed, start, trials, direction, divergence, variant, workers,
                threadsPerWorker, candidates, 0);
    }

    /** Settings over list indices, without explicit candidates. */
    public SearchSettings(String task, long trainingSteps, long seed, int start, int trials,
                          Direction direction, DivergenceRule divergence, ListVariant variant, int workers,
                          int threadsPerWorker) {
        this(task, trainingSteps, seed, start, trials, direction, divergence, variant, workers,
                threadsPerWorker, List.of());
    }

    /**
     * Settings with the defaults: seed 0, from index 0, minimizing, default divergence, TASKSET, one worker.
     */
    public static SearchSettings of(String task, long trainingSteps, int trials) {
        return builder(task, trainingSteps, trials).build();
    }

    /** A builder starting from the defaults of {@link #of}. */
    public static Builder builder(String task, long trainingSteps, int trials) {
        return new Builder(task, trainingSteps, trials);
    }

    /**
     * A builder of a search over explicit candidates, e.g. list entries under both variants and custom
     * configurations, with the other defaults of {@link #of}.
     *
     * @throws IllegalArgumentException if {@code candidates} is null or empty
     */
    public static Builder builder(String task, long trainingSteps, List<Candidate> candidates) {
        if (candidates == null || candidates.isEmpty()) {
            throw new IllegalArgumentException("candidates must not be null or empty, got " + candidates);
        }
        Builder b = new Builder(task, trainingSteps, candidates.size());
        b.candidates = candidates;
        return b;
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        Builder b = new Builder(task, trainingSteps, trials);
        b.seed = seed;
        b.start = start;
        b.direction = direction;
        b.divergence = divergence;
        b.variant = variant;
        b.workers = workers;
        b.threadsPerWorker = threadsPerWorker;
        b.candidates = candidates;
        b.blasThreads = blasThreads;
        b.pruner = pruner;
        b.budget = budget;
        return b;
    }

    /** Collects settings; {@link #build()} validates them. */
    public static final class Builder {
        private final String task;
        private final long trainingSteps;
        private final int trials;
        private long seed;
        private int start;
        private Direction direction = Direction.MINIMIZE;
        private DivergenceRule divergence = DivergenceRule.DEFAULT;
        private ListVariant variant = ListVariant.TASKSET;
        private int workers = 1;
        private int threadsPerWorker;
        private List<Candidate> candidates = List.of();
        private int blasThreads;
        private PrunerSettings pruner = PrunerSettings.none();
        private Budget budget = Budget.NONE;

        private Builder(String task, long trainingSteps, int trials) {
            this.task = task;
            this.trainingSteps = trainingSteps;
            this.trials = trials;
        }

        /** The seed every trial gets. */
        public Builder seed(long value) {
            seed = value;
            return this;
        }

        /** The first list index. */
        public Builder start(int value) {
            start = value;
            return this;
        }

        /** Whether lower or higher objectives are better. */
        public Builder direction(Direction value) {
            direction = value;
            return this;
        }

        /** When trials are stopped early. */
        public Builder divergence(DivergenceRule value) {
            divergence = value;
            return this;
        }

        /** The list variant of the list indices from the start. */
        public Builder variant(ListVariant value) {
            variant = value;
            return this;
        }

        /** Trials run at once, with {@code threadsEach} intra-op threads each (0: divide the cores). */
        public Builder workers(int count, int threadsEach) {
            workers = count;
            threadsPerWorker = threadsEach;
            return this;
        }

        /** OpenBLAS's thread count while the search runs; 0 (the default) leaves it alone. */
        public Builder blasThreads(int count) {
            blasThreads = count;
            return this;
        }

        /** Whether and how trials are pruned ({@link PrunerSettings#none()} by default). */
        public Builder pruner(PrunerSettings value) {
            pruner = value;
            return this;
        }

        /** The compute budget ({@link Budget#NONE} by default). */
        public Builder budget(Budget value) {
            budget = value;
            return this;
        }

        /**
         * The settings.
         *
         * @throws IllegalArgumentException as the record's constructor
         */
        public SearchSettings build() {
            return new SearchSettings(task, trainingSteps, seed, start, trials, direction, divergence, variant,
                    workers, threadsPerWorker, candidates, blasThreads, pruner, budget);
        }
    }

    /**
     * Every candidate of the search, in order: the explicit candidates, or the list indices from {@code start} under
     * {@code variant}.
     */
    public List<Candidate> allCandidates() {
        if (!candidates.isEmpty()) {
            return candidates;
        }
        return IntStream.range(start, start + trials).mapToObj(i -> Candidate.listEntry(i, variant)).toList();
    }

    /** The list indices of the search, in order; {@link Candidate#CUSTOM} for custom candidates. */
    public List<Integer> indices() {
        return allCandidates().stream().map(Candidate::index).toList();
    }

    /** The intra-op threads each worker uses: as set, or the available cores divided among the workers. */
    public int intraOpThreads() {
        return threadsPerWorker > 0 ? threadsPerWorker
                : Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
    }

    /**
     * A compute budget in full trials: the search goes down the list and starts a trial only while the steps spent by
     * the study's finished trials, whichever worker ran them, are below {@code fullTrials} times the training length.
     * A trial that ran to the end costs the training length; one pruned, diverged or failed costs the steps up to its
     * last report ({@code last step + 1}), so pruning lets the same budget reach further down the list. Trials
     * already running when the budget is spent finish, so a search may spend up to one trial per worker more.
     *
     * @param fullTrials the budget in full trials, {@code >= 0}; 0 means no budget (every candidate runs)
     */
    public record Budget(int fullTrials) {

        /** No budget: every candidate runs. */
        public static final Budget NONE = new Budget(0);

        /** Refuses a negative budget. */
        public Budget {
            if (fullTrials < 0) {
                throw new SettingException("budget", "must be >= 0 full trials (0: none), got " + fullTrials);
            }
        }

        /** Whether there is a budget at all. */
        public boolean limited() {
            return fullTrials > 0;
        }

        /** The budget in steps for trials of {@code trainingSteps} steps; {@link Long#MAX_VALUE} without a budget. */
        public long steps(long trainingSteps) {
            return limited() ? Math.multiplyExact((long) fullTrials, trainingSteps) : Long.MAX_VALUE;
        }

        /** Whether a new trial may start after {@code spentSteps} steps of trials of {@code trainingSteps} steps. */
        public boolean mayStart(long spentSteps, long trainingSteps) {
            return spentSteps < steps(trainingSteps);
        }

        /**
         * What a trial cost in steps: the training length when it ran to the end ({@link TrialStatus#OK}); otherwise
         * {@code lastReportedStep + 1}, at most the training length (0 without any report).
         *
         * @throws IllegalArgumentException if {@code status} is null or {@code trainingSteps <= 0}
         */
        public static long cost(TrialStatus status, long lastReportedStep, long trainingSteps) {
            if (status == null || trainingSteps <= 0) {
                throw new IllegalArgumentException("status must not be null and trainingSteps > 0, got " + status
                        + " and " + trainingSteps);
            }
            if (status == TrialStatus.OK) {
                return trainingSteps;
            }
            return Math.max(0, Math.min(trainingSteps, lastReportedStep + 1));
        }
    }
}
