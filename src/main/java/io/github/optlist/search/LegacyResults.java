package io.github.optlist.search;

import io.github.optlist.internal.FolderLock;
import io.github.optlist.search.study.OptunaStudy;
import io.github.optlist.search.study.RunningTrial;
import io.github.optlist.search.study.StorageUrl;
import io.github.optlist.search.study.StudyDatabase;
import io.github.optlist.search.study.StudyStorageException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The results folders of earlier versions ({@code results.jsonl} and the shards' {@code results.shard-I-of-N.jsonl}):
 * merged by trial, and imported into a study that has no trial yet, so that a search started before the study
 * database resumes without losing a trial.
 */
final class LegacyResults {

    private LegacyResults() {
    }

    /** The trials of a folder's results files, merged, with the header they share. */
    record Merged(ResultsHeader header, List<TrialResult> trials) {
    }

    /** Whether {@code folder} holds any results file. */
    static boolean present(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return false;
        }
        try (var files = Files.list(folder)) {
            return files.anyMatch(p -> p.getFileName().toString().matches(
                    "results\\.jsonl|results\\.shard-\\d+-of-\\d+\\.jsonl"));
        }
    }

    /**
     * Imports the results files of {@code folder} into {@code study} when the study has no trial yet; does nothing
     * when the folder holds none or the study has trials (then the folder's files are its exports). The files must
     * be of {@code settings}' search. Holds the folder's lock, so two workers of one machine import once.
     *
     * @throws IllegalArgumentException if the files hold another search's results, or are damaged or contradict each
     *                                  other (naming the file and line); nothing is written then
     * @throws IOException              if a file cannot be read or the database fails
     */
    static void importInto(Path folder, SearchSettings settings, Study study) throws IOException {
        if (!present(folder) || hasTrials(settings, study)) {
            return;
        }
        Merged merged = mergeOf(folder, settings);
        ResultLines.requireSameTrials(folder, merged.trials(), settings);
        try (FolderLock lock = FolderLock.acquire(folder, "import");
             StudyDatabase database = StudyDatabase.open(StorageUrl.parse(study.storage()))) {
            OptunaStudy optuna = StudySearch.join(database, settings, study);
            if (!optuna.trials().isEmpty()) {
                return;
            }
            record(optuna, settings, merged.trials());
        } catch (StudyStorageException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Whether the study exists with trials; reads only, creating no database file. */
    private static boolean hasTrials(SearchSettings settings, Study study) throws IOException {
        StorageUrl url = StorageUrl.parse(study.storage());
        if (url.isSqlite() && !Files.exists(url.file())) {
            return false;
        }
        try (StudyDatabase database = StudyDatabase.open(url)) {
            return OptunaStudy.load(database, study.nameFor(settings)).map(s -> !s.trials().isEmpty()).orElse(false);
        } catch (StudyStorageException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Enqueues every result's candidate, then takes each and ends it as its result says. */
    private static void record(OptunaStudy optuna, SearchSettings settings, List<TrialResult> results) {
        Map<Integer, TrialResult> byIndex = new LinkedHashMap<>();
        Map<String, TrialResult> byLabel = new LinkedHashMap<>();
        for (TrialResult r : results) {
            if (r.index() != Candidate.CUSTOM && r.variant() == settings.variant()) {
                byIndex.put(r.index(), r);
            } else {
                byLabel.put(r.label(), r);
            }
        }
        optuna.enqueue(new ArrayList<>(byIndex.keySet()));
        optuna.enqueueLabels(new ArrayList<>(byLabel.keySet()));
        for (int i = 0; i < results.size(); i++) {
            Optional<RunningTrial> next = optuna.pop();
            if (next.isEmpty()) {
                throw new IllegalStateException("imported trials were taken by another worker while importing");
            }
            RunningTrial running = next.get();
            TrialResult r = running.label() != null ? byLabel.get(running.label()) : byIndex.get(running.index());
            // An earlier version's folder holds no values for the pruner: the pruner does not compare against them.
            StudyTrials.record(optuna, running, r, null);
        }
    }

    /**
     * {@link #merge}, refusing files of a search with other settings than {@code settings} (the code version aside).
     *
     * @throws IllegalArgumentException as {@link #merge}, or naming what differs
     */
    static Merged mergeOf(Path folder, SearchSettings settings) throws IOException {
        Merged merged = merge(folder);
        String differences = merged.header().differencesBesidesVersion(ResultsHeader.of(settings));
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException(folder + " holds results of another search (" + differences
                    + "); search with the same settings or write to another folder");
        }
        return merged;
    }

    /**
     * Merges every results file in {@code folder}, {@code results.jsonl} and each
     * {@code results.shard-I-of-N.jsonl}, by trial: a trial found in several files with the same result counts once.
     *
     * @throws IllegalArgumentException if the folder holds no results, if the files come from different searches or
     *                                  shard files from different shard counts, if two files hold different results
     *                                  for one trial (naming both), or if a file is damaged ({@link ResultsFile#read})
     * @throws IOException              if a file cannot be read, naming it
     */
    static Merged merge(Path folder) throws IOException {
        List<Path> files = ResultsFile.filesIn(folder);
        ResultsHeader header = null;
        Path first = null;
        Map<String, TrialResult> merged = new LinkedHashMap<>();
        Map<String, Path> source = new HashMap<>();
        Path firstShard = null;
        int shardCount = -1;
        for (Path file : files) {
            ResultsFile results = ResultsFile.read(file);
            Shard shard = Shard.parse(results.header().shard());
            if (header == null) {
                header = results.header();
                first = file;
            } else {
                String differences = header.differences(results.header());
                if (!differences.isEmpty()) {
                    throw new IllegalArgumentException(file + " comes from another search than " + first
                            + " (" + differences + ")");
                }
            }
            if (!shard.isAll()) {
                if (firstShard == null) {
                    firstShard = file;
                    shardCount = shard.count();
                } else if (shard.count() != shardCount) {
                    throw new IllegalArgumentException(file + " is a shard of " + shard.count() + ", "
                            + firstShard + " of " + shardCount);
                }
            }
            for (TrialResult result : results.results()) {
                TrialResult before = merged.putIfAbsent(result.label(), result);
                if (before != null && !before.equals(result)) {
                    throw new IllegalArgumentException("trial " + result.label() + " has two different results,"
                            + " in " + source.get(result.label()) + " (" + brief(before) + ") and in " + file
                            + " (" + brief(result) + "); move away the file whose result you do not want");
                }
                source.putIfAbsent(result.label(), file);
            }
        }
        List<TrialResult> trials = new ArrayList<>(merged.values());
        trials.sort(ResultsFile.BY_INDEX);
        return new Merged(header.withShard(Shard.ALL), trials);
    }

    private static String brief(TrialResult r) {
        return r.status() + ", objective " + r.objective();
    }
}
