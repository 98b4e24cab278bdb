package io.github.optlist.reproduce;

import io.github.optlist.reproduce.ReproduceResult.BestOfK;
import io.github.optlist.reproduce.ReproduceResult.Row;
import io.github.optlist.reproduce.ReproduceResult.TaskScores;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import io.github.optlist.internal.Messages;
import io.github.optlist.internal.AtomicFile;
import io.github.optlist.internal.FolderLock;
import io.github.optlist.internal.FolderLockedException;
import io.github.optlist.search.SearchListener;
import io.github.optlist.search.SearchResult;
import io.github.optlist.search.SearchReport;
import io.github.optlist.search.SearchSettings;
import io.github.optlist.search.Study;
import io.github.optlist.search.Search;
import io.github.optlist.search.TrialResult;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The paper's claim measured here: on every task, the list's first entries against random search over the same
 * 1000 configurations and against Adam, scored on held-out loss, with a plot, a table of every trial and a
 * summary that says what held and what did not.
 *
 * <pre>{@code
 * ReproduceResult result = Reproduce.run(ReproduceSettings.protocol().withWorkers(2, 1),
 *         List.of(new ReproduceTask("my-model", 500, myTrial)), Path.of("runs/reproduce-mine"),
 *         SearchListener.NONE);
 * }</pre>
 *
 * <p>Per task, with the same seed for every trial (so the same initialization and batch order):
 * <ul>
 *   <li>{@code L0}: a trial with learning rate 0 (an Adam configuration whose parameters never move), whose
 *       held-out loss is that of the initialization;</li>
 *   <li>the list, entries 0..{@value #K}-1, under {@code TASKSET} and under {@code TORCH_PORT} (an entry that runs
 *       the same update under both is trained once and its trial serves both);</li>
 *   <li>random search: a fixed-seed pool of entries drawn from indices 10..999, under {@code TASKSET};</li>
 *   <li>Adam at learning rates 1e-4, 3e-4, 1e-3, 3e-3, 1e-2 (betas 0.9/0.999, epsilon hat 1e-8).</li>
 * </ul>
 * A trial scores {@code clip((L - L*) / (L0 - L*), 0, 1)}, {@code L*} the lowest held-out loss any method reached
 * on the task; a failed or diverged trial scores 1. The list's best-of-k is its lowest score among entries
 * {@code 0..k-1}; random search's is the exact expectation of the lowest of k pool entries drawn without
 * replacement ({@link OrderStatistics}), with its 10 % and 90 % quantiles.
 *
 * <p>Each task's trials go through {@link Search#runTrials} into {@code tasks/NAME/} of the folder, as they finish:
 * run again after a kill and only the missing trials run. The report ({@code summary.md}, {@code reproduce.png},
 * {@code trials.csv}, {@code trials.jsonl}) is written at the end, from every task's results.
 *
 * <p>With {@link ReproduceSettings#pruningSeeds()} above 0 the run starts with the pruning study
 * ({@code PruningStudy}): list entries 0..29 on every task at each seed, trained into {@code pruning/TASK/seed-S/},
 * replayed through the search's median pruner and compute budget into {@code pruning.md} and {@code pruning.csv}.
 */
public final class Reproduce {

    /** The largest k of the best-of-k curves, and the number of list entries tried: 10. */
    public static final int K = 10;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS).build();
    private static final CsvMapper CSV = new CsvMapper();

    private Reproduce() {
    }

    /**
     * Runs the protocol of {@code settings} on {@code tasks} into {@code folder} and writes the report there.
     *
     * <p>Holds the folder's {@link FolderLock} while it runs, and each task folder's while its trials run. Every
     * task folder's results header is checked against the settings before any trial runs or any file is written.
     *
     * @throws IllegalArgumentException if {@code tasks} is empty or two share a name, or if the folder holds
     *                                  results of other settings (another training length or seed); nothing is
     *                                  written then
     * @throws FolderLockedException    if another reproduce run (or a search) writes to the folder or a task folder
     * @throws IOException              if results cannot be written, naming the operation, the file and the cause
     */
    public static ReproduceResult run(ReproduceSettings settings, List<ReproduceTask> tasks, Path folder,
                                      SearchListener listener) throws IOException {
        if (settings == null || tasks == null || folder == null || listener == null) {
            throw new IllegalArgumentException("settings, tasks, folder and listener must not be null");
        }
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("tasks must not be empty");
        }
        Set<String> names = new HashSet<>();
        for (ReproduceTask task : tasks) {
            if (!names.add(task.name())) {
                throw new IllegalArgumentException("task name '" + task.name() + "' appears twice");
            }
        }
        try (FolderLock lock = FolderLock.acquire(folder, "reproduce")) {
            return runLocked(settings, tasks, folder, listener);
        }
    }

    private static ReproduceResult runLocked(ReproduceSettings settings, List<ReproduceTask> tasks, Path folder,
                                             SearchListener listener) throws IOException {
        Protocol protocol = Protocol.of(settings);
        List<SearchSettings> searches = new ArrayList<>();
        for (ReproduceTask task : tasks) {
            SearchSettings search = SearchSettings.builder(task.name(), settings.stepsFor(task), protocol.planned())
                    .seed(settings.seed()).divergence(settings.divergence())
                    .workers(settings.workers(), settings.threadsPerWorker())
                    .blasThreads(settings.blasThreads()).build();
            searches.add(search);
        }
        PruningStudy.requireResumable(settings, tasks, folder);
        int finished = PruningStudy.finishedBefore(settings, tasks, folder);
        for (int t = 0; t < tasks.size(); t++) {
            finished += Search.finished(searches.get(t), Study.in(taskFolder(folder, tasks.get(t)))).size();
        }
        int total = tasks.size() * (protocol.planned().size() + settings.pruningSeeds() * PruningStudy.ENTRIES);
        listener.searchStarted(total - finished, finished);
        SearchListener perTask = new SearchListener() {
            @Override
            public void trialProgress(String label, long step, long trainingSteps, double loss) {
                listener.trialProgress(label, step, trainingSteps, loss);
            }

            @Override
            public void trialFinished(TrialResult result) {
                listener.trialFinished(result);
            }
        };
        List<Path> pruning = settings.pruningSeeds() > 0 ? PruningStudy.run(settings, tasks, folder, listener)
                : List.of();
        List<TaskScores> scores = new ArrayList<>();
        List<Row> rows = new ArrayList<>();
        for (int t = 0; t < tasks.size(); t++) {
            ReproduceTask task = tasks.get(t);
            long steps = settings.stepsFor(task);
            listener.taskStarted(task.name(), t + 1, tasks.size(), steps);
            SearchResult results = Search.runTrials(searches.get(t), task.trial(), taskFolder(folder, task), perTask);
            Map<String, TrialResult> byLabel = new HashMap<>();
            results.trials().forEach(r -> byLabel.put(r.label(), r));
            scores.add(Scoring.task(task.name(), steps, protocol, byLabel, rows));
        }
        BestOfK mean = Scoring.mean(scores);
        Path summary = folder.resolve("summary.md");
        Path png = folder.resolve("reproduce.png");
        Path csv = folder.resolve("trials.csv");
        Path jsonl = folder.resolve("trials.jsonl");
        writeTable(csv, jsonl, rows);
        boolean plot = SearchReport.plotAvailable();
        List<Path> files = new ArrayList<>(plot ? List.of(summary, png, csv, jsonl) : List.of(summary, csv, jsonl));
        files.addAll(pruning);
        ReproduceResult result = new ReproduceResult(settings, scores, mean, rows, files);
        if (plot) {
            try {
                ReproducePlot.write(result, png);
            } catch (IOException e) {
                throw Messages.ioFailure("write plot", png, e);
            }
        } else {
            System.getLogger(Reproduce.class.getName()).log(System.Logger.Level.WARNING, "reproduce.png not written:"
                    + " XChart is not on the class path (add org.knowm.xchart:xchart 3.8.8 to your project to get"
                    + " the plot; summary.md and the tables are complete)");
        }
        AtomicFile.writeString(summary, "the summary", ReproduceSummary.markdown(result, protocol));
        return result;
    }

    /** Where a task's trials go: {@code tasks/NAME} under the folder. */
    static Path taskFolder(Path folder, ReproduceTask task) {
        return folder.resolve("tasks").resolve(task.name());
    }

    private static void writeTable(Path csv, Path jsonl, List<Row> rows) throws IOException {
        StringBuilder lines = new StringBuilder();
        for (Row row : rows) {
            lines.append(JSON.writeValueAsString(row)).append('\n');
        }
        AtomicFile.writeString(jsonl, "the trials", lines.toString());
        AtomicFile.writeString(csv, "the trials",
                CSV.writer(CSV.schemaFor(Row.class).withHeader()).writeValueAsString(rows));
    }
}
