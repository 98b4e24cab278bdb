package io.github.optlist.search;

import io.github.optlist.internal.Messages;
import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

import static org.bytedeco.openblas.global.openblas_nolapack.blas_get_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads;

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
     * Runs the search in {@code folder}: its study is {@code folder/study.db} ({@link Study#in}), and the exports
     * are written there at the end. See {@link #run(SearchSettings, Trial, Study, Path, SearchListener)}.
     */
    public static SearchResult run(SearchSettings settings, Trial trial, Path folder, SearchListener listener)
            throws IOException {
        return run(settings, trial, Study.in(folder), folder, listener);
    }

    /**
     * Runs the search as one worker of {@code study}: joins the study (creating it when new), enqueues the
     * candidates of {@code settings} the study has no trial of, and runs waiting trials with
     * {@code settings.workers()} threads until none is left, then writes {@code results.csv}, {@code results.jsonl}
     * and (with XChart) {@code search.png} of every finished trial of the study into {@code out}. Any number of
     * workers may run the same search on one study, on one machine or many: no trial runs twice, and a trial whose
     * worker died (no heartbeat for {@link Study#gracePeriod()}) is enqueued again by the next worker that looks.
     * Run it again after a kill: finished trials are kept.
     *
     * <p>A folder of results files written by an earlier version ({@code results.jsonl},
     * {@code results.shard-I-of-N.jsonl}) is imported into a study that has no trial yet, every trial kept.
     *
     * @throws IllegalArgumentException if an argument is null, {@code out} is a file, the study holds another
     *                                  search's settings (naming each difference) or {@code out} holds results of
     *                                  another search; nothing is written then
     * @throws IOException              if the database is unreachable or fails, or the exports cannot be written,
     *                                  naming the operation and the cause
     */
    public static SearchResult run(SearchSettings settings, Trial trial, Study study, Path out,
                                   SearchListener listener) throws IOException {
        requireArguments(settings, trial, study, out, listener);
        LegacyResults.importInto(out, settings, study);
        List<TrialResult> results = StudySearch.run(settings, trial, study, listener);
        return SearchReport.write(out, ResultsHeader.of(settings), results);
    }

    /**
     * Runs the search as {@link #run(SearchSettings, Trial, Study, Path, SearchListener)} does, with the study in
     * {@code folder}, but writes only {@code results.csv} and {@code results.jsonl} there, no plot: for callers that
     * draw their own report, such as {@code Reproduce}.
     *
     * @throws IllegalArgumentException as {@link #run}
     * @throws IOException              as {@link #run}
     */
    public static SearchResult runTrials(SearchSettings settings, Trial trial, Path folder, SearchListener listener)
            throws IOException {
        Study study = Study.in(folder);
        requireArguments(settings, trial, study, folder, listener);
        LegacyResults.importInto(folder, settings, study);
        List<TrialResult> results = StudySearch.run(settings, trial, study, listener);
        return SearchReport.writeTables(folder, ResultsHeader.of(settings), results);
    }

    /**
     * The labels of the candidates of {@code settings} whose trials {@code study} has finished (or, before the study
     * exists, an earlier version's results files beside its SQLite file hold): what a run of the search would not run
     * again. Reads only.
     *
     * @throws IllegalArgumentException if an argument is null, or the study holds another search's settings
     * @throws IOException              if the database or the files cannot be read
     */
    public static java.util.Set<String> finished(SearchSettings settings, Study study) throws IOException {
        if (settings == null || study == null) {
            throw new IllegalArgumentException("settings and study must not be null");
        }
        return StudySearch.finished(settings, study);
    }

    private static void requireArguments(SearchSettings settings, Trial trial, Study study, Path out,
                                         SearchListener listener) {
        if (settings == null || trial == null || study == null || out == null || listener == null) {
            throw new IllegalArgumentException("settings, trial, study, out and listener must not be null");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException(out + " is a file, not a folder");
        }
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

    /**
     * One trial run: its result, and what it leaves for the pruner of later trials ({@link
     * PruningMonitor#recordedValues}), null unless it completed under an enabled pruner.
     */
    record Ran(TrialResult result, PruningMonitor.Values recorded) {
    }

    /**
     * Runs one trial, turning every way it can end into a result: pruned against what {@code completed} gives at
     * each check, its last loss in {@code progress}.
     */
    static Ran runOne(SearchSettings settings, Trial trial, Candidate candidate, SearchListener listener,
                      TrialContext.Progress progress, Supplier<List<PruningMonitor.Values>> completed) {
        TrialContext context = new TrialContext(candidate, settings.trainingSteps(), settings.seed(),
                settings.divergence(), listener, progress, new PruningMonitor(settings.pruner(),
                settings.trainingSteps(), completed));
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
        } catch (TrialContext.DivergedException e) {
            status = TrialStatus.DIVERGED;
            reason = e.getMessage();
        } catch (TrialContext.PrunedException e) {
            status = TrialStatus.PRUNED;
            objective = e.lastValue();
            reason = e.getMessage();
        } catch (Exception | AssertionError e) {
            status = TrialStatus.FAILED;
            reason = e.getClass().getSimpleName() + ": " + Messages.firstLine(e.getMessage());
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        TrialResult result = new TrialResult(candidate.label(), candidate.index(), candidate.config().name(),
                candidate.variant(), candidate.config(), status, objective, reason, seconds, context.curve());
        return new Ran(result, status == TrialStatus.OK && settings.pruner().enabled() ? context.recordedValues()
                : null);
    }
}
