package io.github.optlist.reproduce;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.optlist.ListVariant;
import io.github.optlist.internal.Messages;
import io.github.optlist.search.PrunerSettings;
import io.github.optlist.internal.AtomicFile;
import io.github.optlist.search.Search;
import io.github.optlist.search.SearchListener;
import io.github.optlist.search.SearchSettings;
import io.github.optlist.search.SearchResult;
import io.github.optlist.search.Study;
import io.github.optlist.search.TrialResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pruning study of {@code reproduce}: what the median pruner ({@link PrunerSettings#median()}) and a compute
 * budget ({@link SearchSettings.Budget}) do to a search that goes down the list. On every task and each of
 * {@link ReproduceSettings#pruningSeeds()} seeds, list entries 0..{@value #ENTRIES}-1 under {@code TASKSET} are
 * trained to their end through {@link Search#runTrials} into {@code pruning/TASK/seed-S/}, every reported loss kept
 * in {@code curves.jsonl} beside the results; then {@link PruningReplay} replays those full curves in list order
 * through the search's own pruner, so one set of full runs gives the search with and without pruning. It writes
 * {@code pruning.md} (the table and verdicts, {@link PruningTable}) and {@code pruning.csv} (every trial with and
 * without pruning). Trials are written as they finish: a killed run resumes with the missing ones.
 */
final class PruningStudy {

    /** List entries trained per task and seed. */
    static final int ENTRIES = 30;

    /** The k of the best-of-k compared with and without pruning. */
    static final List<Integer> KS = List.of(3, 5, 10, 30);

    /** The compute budget compared, in full trials. */
    static final SearchSettings.Budget BUDGET = new SearchSettings.Budget(10);

    /** The list entry known to bloom late. */
    static final int LATE_BLOOMER = 6;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS).enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private PruningStudy() {
    }

    /** One line of {@code curves.jsonl}: every loss a trial reported. */
    record CurveLine(String label, long[] steps, double[] losses) {
    }

    /** The replay of one task at one seed: the recorded runs and the same trials pruned. */
    record Cell(String task, long seed, long steps, List<PruningReplay.Recorded> recorded,
                List<PruningReplay.Replayed> unpruned, List<PruningReplay.Replayed> pruned) {
    }

    /** The study's search of {@code task} at {@code seed}. */
    static SearchSettings search(ReproduceSettings settings, ReproduceTask task, long seed) {
        return SearchSettings.builder(task.name(), settings.stepsFor(task), ENTRIES).seed(seed)
                .variant(ListVariant.TASKSET).divergence(settings.divergence())
                .workers(settings.workers(), settings.threadsPerWorker()).blasThreads(settings.blasThreads()).build();
    }

    /** Where the study's trials of {@code task} at {@code seed} go. */
    static Path folder(Path root, ReproduceTask task, long seed) {
        return root.resolve("pruning").resolve(task.name()).resolve("seed-" + seed);
    }

    /** The seeds of the study. */
    static List<Long> seeds(ReproduceSettings settings) {
        List<Long> seeds = new ArrayList<>();
        for (int s = 0; s < settings.pruningSeeds(); s++) {
            seeds.add(settings.seed() + s);
        }
        return seeds;
    }

    /**
     * Checks every folder of the study against the settings, before anything runs.
     *
     * @throws IllegalArgumentException as {@link Search#finished}: a folder's study or results of other settings
     */
    static void requireResumable(ReproduceSettings settings, List<ReproduceTask> tasks, Path root)
            throws IOException {
        finishedBefore(settings, tasks, root);
    }

    /** How many of the study's trials earlier runs finished. */
    static int finishedBefore(ReproduceSettings settings, List<ReproduceTask> tasks, Path root) throws IOException {
        int finished = 0;
        for (ReproduceTask task : tasks) {
            for (long seed : seeds(settings)) {
                finished += Search.finished(search(settings, task, seed), Study.in(folder(root, task, seed))).size();
            }
        }
        return finished;
    }

    /**
     * Trains what is missing, replays every task and seed, and writes {@code pruning.md} and {@code pruning.csv}
     * into {@code root}.
     *
     * @return the files written
     * @throws IllegalStateException if a finished trial has no recorded curve (a run killed as the trial ended),
     *                               naming the folder to delete so that its trials run again
     * @throws IOException           if results cannot be written, naming the operation, the file and the cause
     */
    static List<Path> run(ReproduceSettings settings, List<ReproduceTask> tasks, Path root,
                          SearchListener listener) throws IOException {
        List<Cell> cells = new ArrayList<>();
        int position = 0;
        int count = tasks.size() * settings.pruningSeeds();
        // Seed by seed, so that an interrupted study has every task at its first seeds.
        for (long seed : seeds(settings)) {
            for (ReproduceTask task : tasks) {
                SearchSettings search = search(settings, task, seed);
                Path folder = folder(root, task, seed);
                listener.taskStarted(task.name() + " (pruning study, seed " + seed + ")", ++position, count,
                        search.trainingSteps());
                SearchResult results = Search.runTrials(search, task.trial(),
                        folder, new CurveRecorder(folder.resolve("curves.jsonl"), listener));
                List<PruningReplay.Recorded> recorded = load(search, results, folder);
                cells.add(new Cell(task.name(), seed, search.trainingSteps(), recorded,
                        PruningReplay.replay(recorded, search.trainingSteps(), PrunerSettings.none()),
                        PruningReplay.replay(recorded, search.trainingSteps(), PrunerSettings.median())));
            }
        }
        Path md = root.resolve("pruning.md");
        Path csv = root.resolve("pruning.csv");
        AtomicFile.writeString(csv, "the pruning study", PruningTable.csv(cells));
        AtomicFile.writeString(md, "the pruning study", PruningTable.markdown(cells, settings));
        return List.of(md, csv);
    }

    /** The study's trials of one folder in list order, each with its full curve. */
    static List<PruningReplay.Recorded> load(SearchSettings search, SearchResult results, Path folder)
            throws IOException {
        Map<String, CurveLine> curves = readCurves(folder.resolve("curves.jsonl"));
        Map<String, TrialResult> byLabel = new HashMap<>();
        results.trials().forEach(r -> byLabel.put(r.label(), r));
        List<PruningReplay.Recorded> recorded = new ArrayList<>();
        for (var candidate : search.allCandidates()) {
            TrialResult r = byLabel.get(candidate.label());
            CurveLine curve = curves.get(candidate.label());
            if (r == null || curve == null) {
                throw new IllegalStateException("trial " + candidate.label() + " in " + folder + " has "
                        + (r == null ? "no result" : "no recorded curve (the run was killed as it ended)")
                        + "; delete that folder and run again to train its trials anew");
            }
            recorded.add(new PruningReplay.Recorded(r.label(), r.status(), r.objective(), curve.steps(),
                    curve.losses()));
        }
        return recorded;
    }

    /** The curves of {@code file} by label; a line cut by a kill, or any unreadable line, is left out. */
    static Map<String, CurveLine> readCurves(Path file) throws IOException {
        Map<String, CurveLine> curves = new HashMap<>();
        if (!Files.exists(file)) {
            return curves;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            try {
                CurveLine c = JSON.readValue(line, CurveLine.class);
                if (c.label() != null && c.steps() != null && c.losses() != null
                        && c.steps().length == c.losses().length) {
                    curves.put(c.label(), c);
                }
            } catch (IOException e) {
                // A cut last line: its trial counts as without a curve.
            }
        }
        return curves;
    }

    /** Keeps every loss each trial reports and appends its curve to the file when the trial ends. */
    private static final class CurveRecorder implements SearchListener {
        private final Path file;
        private final SearchListener listener;
        private final Map<String, Growing> running = new ConcurrentHashMap<>();

        CurveRecorder(Path file, SearchListener listener) {
            this.file = file;
            this.listener = listener;
        }

        @Override
        public void trialProgress(String label, long step, long trainingSteps, double loss) {
            running.computeIfAbsent(label, l -> new Growing()).add(step, loss);
            listener.trialProgress(label, step, trainingSteps, loss);
        }

        @Override
        public void trialFinished(TrialResult result) {
            Growing g = running.remove(result.label());
            CurveLine line = g == null ? new CurveLine(result.label(), new long[0], new double[0])
                    : new CurveLine(result.label(), Arrays.copyOf(g.steps, g.size), Arrays.copyOf(g.losses, g.size));
            try {
                String text = JSON.writeValueAsString(line) + "\n";
                synchronized (this) {
                    Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(Messages.ioFailure("append curve", file, e));
            }
            listener.trialFinished(result);
        }
    }

    /** One trial's losses so far. */
    private static final class Growing {
        private long[] steps = new long[256];
        private double[] losses = new double[256];
        private int size;

        void add(long step, double loss) {
            if (size == steps.length) {
                steps = Arrays.copyOf(steps, size * 2);
                losses = Arrays.copyOf(losses, size * 2);
            }
            steps[size] = step;
            losses[size++] = loss;
        }
    }
}
