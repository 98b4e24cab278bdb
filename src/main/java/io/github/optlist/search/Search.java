package io.github.optlist.search;

import io.github.optlist.internal.Messages;
import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.bytedeco.openblas.global.openblas_nolapack.blas_get_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads;
import static org.bytedeco.pytorch.global.torch.set_num_threads;

/**
 * Tries the list in order: runs a {@link Trial} for each list index of the settings (or each explicit
 * {@link Candidate}), records every result as it arrives, and returns them all with the best.
 *
 * <pre>{@code
 * SearchResult result = Search.run(SearchSettings.of("my-task", 2000, 10), context -> {
 *     Model model = new Model(context.seed());
 *     try (var opt = context.optimizer(model.parameters())) {
 *         for (long step = 0; step < context.trainingSteps(); step++) {
 *             ... opt.step(); context.reportLoss(step, loss);
 *         }
 *     }
 *     return validationLoss(model);
 * }, Path.of("runs/my-task"), SearchListener.NONE);
 * }</pre>
 *
 * <p>A trial that throws, or returns a NaN or infinite objective, is recorded as failed with the reason; one
 * stopped by the {@link DivergenceRule} as diverged; the search goes on either way. Results already in the output
 * folder for the same settings are kept and their trials not run again, so a killed search resumes where it
 * stopped; results of other settings there make the search refuse to start.
 */
public final class Search {

    private Search() {
    }

    /**
     * Runs the trials of {@code settings} not yet in {@code folder}, with {@code settings.workers()} at once.
     * An unsharded search ends by writing {@code results.csv}, {@code results.jsonl} and (with XChart) {@code
     * search.png};
     * a shard writes its own results files, which {@link SearchReport#rebuild} merges.
     *
     * <p>The search holds a {@link FolderLock} while it runs: the folder's {@value FolderLock#MAIN} when unsharded,
     * the shard's own lock file otherwise (so the shards of one folder run at the same time). A resume checks the
     * folder's results header against {@code settings} before it writes anything.
     *
     * @throws IllegalArgumentException if an argument is null, or {@code folder} is a file, holds results of other
     *                                  settings or of trials that are not this search's as it runs them, or a
     *                                  results file that is damaged or contradicts itself
     *                                  ({@link ResultsFile#requireResumable(Path, SearchSettings)}, naming the file
     *                                  and line; nothing is written then)
     * @throws FolderLockedException    if another search, reproduce run or report writes to the same files
     * @throws IOException              if results cannot be written, naming the operation, the file and the cause
     */
    public static SearchResult run(SearchSettings settings, Trial trial, Path folder, SearchListener listener)
            throws IOException {
        requireArguments(settings, trial, folder, listener);
        try (FolderLock lock = lock(folder, settings.shard(), "search")) {
            ResultsFile file = runLocked(settings, trial, folder, listener);
            if (settings.shard().isAll()) {
                return SearchReport.write(folder, file.header(), file.results());
            }
            Path jsonl = ResultsFile.jsonlOf(folder, file.header());
            Path csv = ResultsFile.siblingCsv(jsonl);
            // An empty shard, or one whose trials all ran before the CSV existed, has no table to name.
            return new SearchResult(file.header(), file.results(), Files.exists(csv) ? List.of(csv, jsonl)
                    : List.of(jsonl));
        }
    }

    /**
     * Runs the trials of {@code settings} not yet in {@code folder}, as {@link #run} does (holding the same lock),
     * but writes only the results lines and table of the shard ({@code results.jsonl} and {@code results.csv} when
     * unsharded), no plot: for callers that draw their own report, such as {@code Reproduce}.
     *
     * @return the results file, holding every trial finished in {@code folder} (earlier runs' included)
     * @throws IllegalArgumentException as {@link #run}
     * @throws FolderLockedException    as {@link #run}
     * @throws IOException              as {@link #run}
     */
    public static ResultsFile runTrials(SearchSettings settings, Trial trial, Path folder, SearchListener listener)
            throws IOException {
        requireArguments(settings, trial, folder, listener);
        try (FolderLock lock = lock(folder, settings.shard(), "search")) {
            return runLocked(settings, trial, folder, listener);
        }
    }

    /** The lock of the files a search of {@code shard} writes in {@code folder}. */
    static FolderLock lock(Path folder, Shard shard, String operation) throws IOException {
        return shard.isAll() ? FolderLock.acquire(folder, operation)
                : FolderLock.acquire(folder, "." + ResultsFile.stem(shard).substring("results.".length()) + ".lock",
                operation + " shard " + shard);
    }

    private static void requireArguments(SearchSettings settings, Trial trial, Path folder, SearchListener listener) {
        if (settings == null || trial == null || folder == null || listener == null) {
            throw new IllegalArgumentException("settings, trial, folder and listener must not be null");
        }
    }

    private static ResultsFile runLocked(SearchSettings settings, Trial trial, Path folder, SearchListener listener)
            throws IOException {
        ResultsFile file = ResultsFile.openOrCreate(folder, settings);
        List<Candidate> mine = settings.shardCandidates();
        List<Candidate> pending = mine.stream().filter(c -> !file.isFinished(c.label())).toList();
        listener.searchStarted(pending.size(), mine.size() - pending.size());
        // The pruner's COMPLETE trials: this run's own finished ones (a resumed search starts without the earlier).
        List<IntermediateValues> completed = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicLong spent = new java.util.concurrent.atomic.AtomicLong(
                file.results().stream().mapToLong(r -> ComputeBudget.cost(r.status(),
                        r.curve().isEmpty() ? -1 : r.curve().get(r.curve().size() - 1).step(),
                        settings.trainingSteps())).sum());
        ExecutorService workers = Executors.newFixedThreadPool(settings.workers(), runnable -> {
            Thread thread = new Thread(runnable, "opt-list-search-worker");
            thread.setDaemon(true);
            return thread;
        });
        try (BlasThreads blas = BlasThreads.set(settings.blasThreads())) {
            // Set when something other than a trial failure (an Error, a full disk) stops the search: the trials
            // not yet started are then left for a resume instead of being run.
            AtomicBoolean stopping = new AtomicBoolean();
            List<Future<?>> running = new ArrayList<>();
            for (Candidate candidate : pending) {
                running.add(workers.submit(() -> {
                    if (stopping.get() || !settings.budget().mayStart(spent.get(), settings.trainingSteps())) {
                        return;
                    }
                    try {
                        set_num_threads(settings.intraOpThreads());
                        TrialResult result = runOne(settings, trial, candidate, listener, completed, spent);
                        file.append(result);
                        listener.trialFinished(result);
                    } catch (IOException e) {
                        stopping.set(true);
                        throw new UncheckedIOException(e);
                    } catch (RuntimeException | Error e) {
                        stopping.set(true);
                        throw e;
                    }
                }));
            }
            for (Future<?> future : running) {
                future.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("search interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UncheckedIOException io) {
                throw io.getCause();
            }
            throw new IllegalStateException("search worker failed", e.getCause());
        } finally {
            workers.shutdownNow();
        }
        return file;
    }

    /**
     * OpenBLAS's process-wide thread count, set while searches that ask for it run and put back when the last of
     * them ends (searches of one JVM may overlap; the latest count asked for applies meanwhile).
     */
    static final class BlasThreads implements AutoCloseable {
        private static int active;
        private static int before;
        private final boolean set;

        private BlasThreads(boolean set) {
            this.set = set;
        }

        /** Sets the count to {@code count} if it is above 0; 0 leaves OpenBLAS alone. */
        static BlasThreads set(int count) {
            if (count <= 0) {
                return new BlasThreads(false);
            }
            synchronized (BlasThreads.class) {
                if (active++ == 0) {
                    before = blas_get_num_threads();
                }
                blas_set_num_threads(count);
            }
            return new BlasThreads(true);
        }

        @Override
        public void close() {
            if (set) {
                synchronized (BlasThreads.class) {
                    if (--active == 0) {
                        blas_set_num_threads(before);
                    }
                }
            }
        }
    }

    /** Runs one trial, turning every way it can end into a result, without pruning. */
    static TrialResult runOne(SearchSettings settings, Trial trial, Candidate candidate, SearchListener listener) {
        return runOne(settings, trial, candidate, listener, new ArrayList<>(),
                new java.util.concurrent.atomic.AtomicLong());
    }

    /**
     * Runs one trial, pruned against {@code completed} (to which its values are added when it completes), adding
     * its cost in steps to {@code spent}. {@code completed} must be safe to read while other workers add to it.
     */
    static TrialResult runOne(SearchSettings settings, Trial trial, Candidate candidate, SearchListener listener,
                              List<IntermediateValues> completed, java.util.concurrent.atomic.AtomicLong spent) {
        TrialContext context = new TrialContext(candidate, settings.trainingSteps(), settings.seed(),
                settings.divergence(), listener, new PruningMonitor(settings.pruner(), settings.trainingSteps(),
                () -> completed));
        long started = System.nanoTime();
        TrialStatus status;
        double objective = Double.NaN;
        String reason = "";
        try (PointerScope scope = new PointerScope()) {
            double value = trial.run(context);
            if (Double.isFinite(value)) {
                status = TrialStatus.OK;
                objective = value;
            } else {
                status = TrialStatus.FAILED;
                reason = "objective is " + value;
            }
        } catch (TrialDivergedException e) {
            status = TrialStatus.DIVERGED;
            reason = e.getMessage();
        } catch (TrialPrunedException e) {
            status = TrialStatus.PRUNED;
            objective = e.lastValue();
            reason = e.getMessage();
        } catch (Exception | AssertionError e) {
            status = TrialStatus.FAILED;
            reason = e.getClass().getSimpleName() + ": " + Messages.firstLine(e.getMessage());
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        if (status == TrialStatus.OK && settings.pruner().enabled()) {
            completed.add(context.intermediateValues());
        }
        spent.addAndGet(ComputeBudget.cost(status, context.lastReportedStep(), settings.trainingSteps()));
        return new TrialResult(candidate.label(), candidate.index(), candidate.config().name(),
                candidate.variant(), candidate.config(), status, objective, reason, seconds, context.curve());
    }
}
