package io.github.optlist.search;

import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.bytedeco.pytorch.global.torch.set_num_threads;

/**
 * Tries the list in order: runs a {@link Trial} for each list index of the settings, records every result as it
 * arrives, and returns them all with the best.
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
     * An unsharded search ends by writing {@code results.csv}, {@code results.jsonl} and (with XChart) {@code search.png};
     * a shard writes its own results files, which {@link SearchReport#rebuild} merges.
     *
     * @throws IllegalArgumentException if {@code folder} holds results of other settings
     * @throws IOException              if results cannot be written
     */
    public static SearchResult run(SearchSettings settings, Trial trial, Path folder, SearchListener listener)
            throws IOException {
        ResultsFile file = ResultsFile.openOrCreate(folder, ResultsHeader.of(settings));
        List<Integer> pending = settings.indices().stream().filter(i -> !file.isFinished(i)).toList();
        listener.searchStarted(pending.size(), settings.indices().size() - pending.size());
        ExecutorService workers = Executors.newFixedThreadPool(settings.workers(), runnable -> {
            Thread thread = new Thread(runnable, "opt-list-search-worker");
            thread.setDaemon(true);
            return thread;
        });
        try {
            // Set when something other than a trial failure (an Error, a full disk) stops the search: the trials
            // not yet started are then left for a resume instead of being run.
            AtomicBoolean stopping = new AtomicBoolean();
            List<Future<?>> running = new ArrayList<>();
            for (int index : pending) {
                running.add(workers.submit(() -> {
                    if (stopping.get()) {
                        return;
                    }
                    try {
                        set_num_threads(settings.intraOpThreads());
                        TrialResult result = runOne(settings, trial, index, listener);
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
        if (settings.shard().isAll()) {
            return SearchReport.write(folder, file.header(), file.results());
        }
        Path jsonl = folder.resolve(ResultsFile.stem(settings.shard()) + ".jsonl");
        return new SearchResult(file.header(), file.results(), List.of(ResultsFile.siblingCsv(jsonl), jsonl));
    }

    /** Runs one trial, turning every way it can end into a result. */
    static TrialResult runOne(SearchSettings settings, Trial trial, int index, SearchListener listener) {
        TrialContext context = new TrialContext(index, settings.trainingSteps(), settings.seed(), settings.variant(),
                settings.divergence(), listener);
        String name = context.config().name();
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
        } catch (Exception | AssertionError e) {
            status = TrialStatus.FAILED;
            reason = e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        return new TrialResult(index, name, status, objective, reason, seconds, context.curve());
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
