package io.github.optlist.search;

import io.github.optlist.search.study.OptunaStudy;
import io.github.optlist.search.study.RunningTrial;
import io.github.optlist.search.study.StorageUrl;
import io.github.optlist.search.study.StoredTrial;
import io.github.optlist.search.study.StudyDatabase;
import io.github.optlist.search.study.StudyDirection;
import io.github.optlist.search.study.StudyStorageException;
import io.github.optlist.search.study.TrialState;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.HashSet;
import java.util.Set;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.bytedeco.pytorch.global.torch.set_num_threads;

/**
 * One worker process of a search over a study: it joins the study (refusing other settings), enqueues the
 * candidates the study lacks, then takes waiting trials one at a time, with {@code settings.workers()} threads, until
 * none is left; any trial of the study is taken, whoever enqueued it. Each running trial beats while it trains;
 * before taking a trial a thread fails the study's trials whose worker stopped beating and enqueues them again. The
 * pruner compares against, and the budget counts, the finished trials of the whole study, whichever worker ran them
 * ({@link CompletedTrials}).
 */
final class StudySearch {

    private StudySearch() {
    }

    /**
     * Runs the waiting trials of the study and returns every finished trial it holds, one per candidate (the latest
     * when a candidate was retried), by list index.
     *
     * @throws IllegalArgumentException if the study holds another search's settings or trials this code cannot read
     * @throws IOException              if the database is unreachable or fails, naming it and the operation
     */
    static List<TrialResult> run(SearchSettings settings, Trial trial, Study study, SearchListener listener)
            throws IOException {
        StorageUrl url = StorageUrl.parse(study.storage());
        createFolderOf(url);
        try (StudyDatabase database = StudyDatabase.open(url)) {
            OptunaStudy optuna = join(database, settings, study);
            Map<String, Candidate> known = new LinkedHashMap<>();
            settings.allCandidates().forEach(c -> known.put(c.label(), c));
            enqueue(optuna, settings, known);
            int finished = 0;
            int pending = 0;
            for (StoredTrial t : optuna.trials()) {
                switch (t.state()) {
                    case WAITING -> pending++;
                    case COMPLETE, PRUNED, FAIL -> finished++;
                    default -> {
                    }
                }
            }
            listener.searchStarted(pending, finished);
            work(optuna, settings, trial, study, known, listener, new CompletedTrials());
            return results(optuna, settings, known);
        } catch (StudyStorageException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** See {@link Search#finished}. */
    static Set<String> finished(SearchSettings settings, Study study) throws IOException {
        StorageUrl url = StorageUrl.parse(study.storage());
        Set<String> labels = new HashSet<>();
        settings.allCandidates().forEach(c -> labels.add(c.label()));
        Set<String> finished = new HashSet<>();
        if (url.isSqlite() && !Files.exists(url.file())) {
            Path folder = url.file().getParent();
            if (folder != null && LegacyResults.present(folder)) {
                LegacyResults.mergeOf(folder, settings).trials().forEach(r -> finished.add(r.label()));
            }
        } else {
            try (StudyDatabase database = StudyDatabase.open(url)) {
                Optional<OptunaStudy> optuna = OptunaStudy.load(database, study.nameFor(settings));
                if (optuna.isPresent()) {
                    requireSettings(optuna.get(), settings, url);
                    Map<String, Candidate> known = new LinkedHashMap<>();
                    settings.allCandidates().forEach(c -> known.put(c.label(), c));
                    results(optuna.get(), settings, known).forEach(r -> finished.add(r.label()));
                }
            } catch (StudyStorageException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        finished.retainAll(labels);
        return finished;
    }

    /** Refuses a study that records settings other than {@code settings}', naming each difference. */
    private static void requireSettings(OptunaStudy optuna, SearchSettings settings, StorageUrl url) {
        List<String> differences = optuna.settingDifferences(StudyTrials.settingsAttributes(settings));
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException("study '" + optuna.name() + "' in " + url + " belongs to a search with"
                    + " other settings (" + String.join("; ", differences) + ")");
        }
    }

    /**
     * Joins (or creates) the study of {@code settings}. A study named after the settings ({@link Study#name()} null)
     * is refused in a database that holds other studies: it would silently start a second search beside them.
     */
    static OptunaStudy join(StudyDatabase database, SearchSettings settings, Study study) {
        if (study.name() == null) {
            List<String> others = new ArrayList<>(OptunaStudy.names(database));
            others.remove(study.nameFor(settings));
            if (!others.isEmpty()) {
                throw new IllegalArgumentException(study.where() + " holds the study of another search " + others
                        + ", not " + study.nameFor(settings) + "'s: search with its settings, or name a study to add"
                        + " (--study NAME)");
            }
        }
        StudyDirection direction = settings.direction() == Direction.MINIMIZE ? StudyDirection.MINIMIZE
                : StudyDirection.MAXIMIZE;
        return OptunaStudy.createOrLoad(database, study.nameFor(settings), direction,
                StudyTrials.settingsAttributes(settings));
    }

    private static void createFolderOf(StorageUrl url) throws IOException {
        if (url.isSqlite() && url.file().getParent() != null) {
            Path folder = url.file().getParent();
            if (Files.exists(folder) && !Files.isDirectory(folder)) {
                throw new IllegalArgumentException(folder + " is a file, not a folder");
            }
            try {
                Files.createDirectories(folder);
            } catch (IOException e) {
                throw io.github.optlist.internal.Messages.ioFailure("create folder", folder, e);
            }
        }
    }

    /** Enqueues, in order, the candidates the study has no trial of: list entries by index, others by label. */
    private static void enqueue(OptunaStudy optuna, SearchSettings settings, Map<String, Candidate> known) {
        List<Integer> indices = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (Candidate c : known.values()) {
            if (c.isListEntry() && c.variant() == settings.variant()) {
                indices.add(c.index());
            } else {
                labels.add(c.label());
            }
        }
        optuna.enqueue(indices);
        optuna.enqueueLabels(labels);
    }

    private static void work(OptunaStudy optuna, SearchSettings settings, Trial trial, Study study,
                             Map<String, Candidate> known, SearchListener listener, CompletedTrials completed)
            throws IOException {
        ExecutorService workers = Executors.newFixedThreadPool(settings.workers(), daemon("opt-list-search-worker"));
        ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor(daemon("opt-list-heartbeat"));
        try (Search.BlasThreads blas = Search.BlasThreads.set(settings.blasThreads())) {
            // Set when something other than a trial failure (an Error, a lost database) stops the search: the other
            // threads then take no new trial, and the trials they run are left for a resume.
            AtomicBoolean stopping = new AtomicBoolean();
            List<Future<?>> running = new ArrayList<>();
            for (int w = 0; w < settings.workers(); w++) {
                running.add(workers.submit(() -> {
                    set_num_threads(settings.intraOpThreads());
                    try {
                        while (!stopping.get() && runNext(optuna, settings, trial, study, known, listener,
                                beats, completed)) {
                            // next trial
                        }
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
            if (e.getCause() instanceof StudyStorageException storage) {
                throw new IOException(storage.getMessage(), storage);
            }
            if (e.getCause() instanceof UncheckedIOException io) {
                throw io.getCause();
            }
            throw new IllegalStateException("search worker failed", e.getCause());
        } finally {
            workers.shutdownNow();
            beats.shutdownNow();
        }
    }

    /** Takes one waiting trial, runs and records it; false when none was waiting. */
    private static boolean runNext(OptunaStudy optuna, SearchSettings settings, Trial trial, Study study,
                                   Map<String, Candidate> known, SearchListener listener,
                                   ScheduledExecutorService beats, CompletedTrials completed) {
        if (settings.budget().limited() && !settings.budget().mayStart(spent(optuna, settings.trainingSteps()),
                settings.trainingSteps())) {
            return false;
        }
        if (settings.pruner().enabled()) {
            completed.refresh(optuna);
        }
        optuna.failStale(study.gracePeriod(), study.maxRetries());
        Optional<RunningTrial> next = optuna.pop();
        if (next.isEmpty()) {
            return false;
        }
        RunningTrial running = next.get();
        Candidate candidate = candidateOf(running, settings, known);
        optuna.setUserAttributes(running, StudyTrials.candidateAttributes(candidate));
        AtomicBoolean abandoned = new AtomicBoolean();
        TrialContext.Progress progress = new TrialContext.Progress();
        long interval = study.heartbeatInterval().toMillis();
        ScheduledFuture<?> beating = beats.scheduleAtFixedRate(() -> {
            try {
                if (!optuna.heartbeat(running)) {
                    // Another worker found this trial stale and enqueued it again: its result would be a duplicate.
                    abandoned.set(true);
                    return;
                }
                TrialResult.LossPoint last = progress.last();
                if (last != null) {
                    optuna.report(running, (int) last.step(), last.loss());
                }
                if (settings.pruner().enabled()) {
                    completed.refresh(optuna);
                }
            } catch (RuntimeException e) {
                // A beat that fails (a database restarting) is retried at the next interval; a trial whose beats
                // keep failing is found stale and retried by another worker.
            }
        }, interval, interval, TimeUnit.MILLISECONDS);
        Search.Ran ran;
        try {
            ran = Search.runOne(settings, trial, candidate, listener, progress, completed::values);
        } catch (RuntimeException | Error e) {
            // Not the trial's failure (runOne records those) but the process's: the trial goes back to the queue.
            beating.cancel(false);
            try {
                optuna.abandon(running, "its worker stopped: " + e, study.maxRetries());
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        } finally {
            beating.cancel(false);
        }
        if (abandoned.get()) {
            return true;
        }
        StudyTrials.record(optuna, running, ran.result(), ran.recorded());
        if (ran.recorded() != null) {
            completed.add(running.trialId(), ran.recorded());
        }
        listener.trialFinished(ran.result());
        return true;
    }

    /**
     * The steps the study's finished trials cost ({@link SearchSettings.Budget#cost}), whichever worker ran them: a
     * completed trial its training length, a pruned or failed one up to its last reported step.
     */
    private static long spent(OptunaStudy optuna, long trainingSteps) {
        long spent = 0;
        for (OptunaStudy.LastStep t : optuna.lastStepsOfFinished()) {
            TrialStatus status = t.state() == TrialState.COMPLETE ? TrialStatus.OK
                    : TrialStatus.FAILED;
            spent += SearchSettings.Budget.cost(status, t.lastStep(), trainingSteps);
        }
        return spent;
    }

    /**
     * The candidate of a trial taken from the study: the search's own by label, or the list entry of its index under
     * the search's variant (a trial Optuna or another worker enqueued).
     */
    private static Candidate candidateOf(RunningTrial running, SearchSettings settings, Map<String, Candidate> known) {
        if (running.label() != null) {
            Candidate c = known.get(running.label());
            if (c == null) {
                throw new IllegalArgumentException("trial " + running.number() + " of the study runs candidate '"
                        + running.label() + "', which this search does not have");
            }
            return c;
        }
        Candidate entry = Candidate.listEntry(running.index(), settings.variant());
        return known.getOrDefault(entry.label(), entry);
    }

    /** Every finished trial of the study, the latest per candidate, by list index then label. */
    private static List<TrialResult> results(OptunaStudy optuna, SearchSettings settings,
                                             Map<String, Candidate> known) {
        return StudyTrials.latest(optuna.trials(), settings.variant(), known);
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
