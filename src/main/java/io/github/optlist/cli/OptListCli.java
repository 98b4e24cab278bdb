package io.github.optlist.cli;

import io.github.optlist.internal.SettingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.internal.Messages;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.internal.Version;
import io.github.optlist.internal.FolderLockedException;
import io.github.optlist.search.Search;
import io.github.optlist.search.SearchReport;
import io.github.optlist.search.SearchResult;
import io.github.optlist.search.SearchSettings;
import io.github.optlist.search.Study;
import io.github.optlist.search.PrunerSettings;
import io.github.optlist.search.tasks.BuiltInTasks;
import io.github.optlist.search.tasks.SearchTask;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The {@code opt-list} command line: browse the list, show an entry's schedule, search a built-in task, rebuild a
 * report from (sharded) results, and measure the list against random search and Adam ({@link ReproduceCommand}).
 * Run it with {@code bin/opt-list}.
 */
// scope INHERIT: every subcommand, launch included, gets --help and --version too.
@Command(name = "opt-list", mixinStandardHelpOptions = true, versionProvider = OptListCli.VersionProvider.class,
        scope = CommandLine.ScopeType.INHERIT,
        description = "The Learned Optimizer List (Metz et al. 2020): 1000 NAdamW configurations to try in order.",
        subcommands = {OptListCli.ListCommand.class, OptListCli.ShowCommand.class, OptListCli.TasksCommand.class,
                OptListCli.SearchCommand.class, OptListCli.ReportCommand.class,
                ReproduceCommand.class, LaunchCommand.class, CommandLine.HelpCommand.class})
public final class OptListCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** The options that set the settings the library's messages name by their Java names. */
    static final Map<String, String> OPTION_OF = Map.ofEntries(Map.entry("task", "--task"),
            Map.entry("trainingSteps", "--steps"), Map.entry("start", "--start"), Map.entry("trials", "--trials"),
            Map.entry("shard", "--shard"), Map.entry("workers", "--workers"),
            Map.entry("threadsPerWorker", "--threads-per-worker"), Map.entry("blasThreads", "--blas-threads"),
            Map.entry("factor", "--diverge-factor"), Map.entry("graceSteps", "--diverge-grace"),
            Map.entry("poolSize", "--pool"));

    /**
     * Runs the command line and returns its exit status: 0 done, 1 failed (an I/O error, a folder in use), 2 bad
     * arguments (including a results folder of other settings or a damaged results file).
     */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new OptListCli());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("opt-list: " + message(e));
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        return cli.execute(args);
    }

    /** What the user is told of {@code e}: settings named by their options, never a bare path or class name. */
    static String message(Throwable e) {
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            return message(u.getCause());
        }
        if (e instanceof SettingException s) {
            return s.message(name -> OPTION_OF.getOrDefault(name, name));
        }
        if (e instanceof FileSystemException fs) {
            // Java's own, whose message may be the bare path; opt-list's say "cannot OPERATION PATH: CAUSE"
            return "I/O error on " + fs.getFile() + ": " + Messages.reason(fs);
        }
        String text = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName()
                : e.getMessage();
        if (e instanceof IllegalStateException && !(e instanceof FolderLockedException) && e.getCause() != null) {
            return text + ": " + message(e.getCause());
        }
        return text;
    }

    /**
     * Refuses an empty path, which Java reads as the current folder.
     *
     * @throws IllegalArgumentException naming {@code option} if {@code path} is empty
     */
    static Path requirePath(String option, Path path) {
        if (path == null || path.toString().isBlank()) {
            throw new IllegalArgumentException(option + " must name a folder, got '" + path + "'");
        }
        return path;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"opt-list " + Version.get()};
        }
    }

    @Command(name = "list", description = "Lists the entries in the order to try them.")
    static final class ListCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--limit", description = "How many entries, from index 0 (default: ${DEFAULT-VALUE}).",
                defaultValue = "20")
        int limit;

        @Option(names = "--json", description = "One JSON object per line instead of a table.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            if (limit < 1) {
                throw new IllegalArgumentException("--limit must be >= 1, got " + limit);
            }
            PrintWriter out = spec.commandLine().getOut();
            int n = Math.min(limit, OptList.size());
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                for (int i = 0; i < n; i++) {
                    out.println(mapper.writeValueAsString(OptList.config(i)));
                }
                return 0;
            }
            out.printf("%5s  %-22s %11s %8s %10s %10s %5s %10s %10s %10s %10s %8s%n", "idx", "name", "lr", "beta1",
                    "beta2", "epsilon", "nest", "adamw_wd", "l2_wd", "warmup", "min_mult", "constant");
            for (int i = 0; i < n; i++) {
                NAdamWConfig c = OptList.config(i);
                out.printf("%5d  %-22s %11.4e %8.5f %10.7f %10.3e %5s %10.3e %10.3e %10.3e %10.3e %8.5f%n", i,
                        c.name(), c.learningRate(), c.beta1(), c.beta2(), c.epsilon(), c.useNesterov() ? "yes" : "no",
                        c.adamwWeightDecay(), c.l2WeightDecay(), c.warmupFraction(), c.minLearningRateMult(),
                        c.constantFraction());
            }
            return 0;
        }
    }

    @Command(name = "show", description = "Shows one entry and its learning-rate schedule over a training length.")
    static final class ShowCommand implements Callable<Integer> {
        /** The most steps {@code show} prints: a table to read, not a file to compute (every one is one line). */
        static final int MAX_POINTS = 10_000;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "IDX", description = "The list index.")
        int idx;

        @Option(names = "--steps", description = "Training length (default: ${DEFAULT-VALUE}).", defaultValue = "1000")
        long steps;

        @CommandLine.Mixin
        VariantOption variantOption;

        @Option(names = "--points", description = "Steps shown, evenly spaced, 2 to " + MAX_POINTS
                + " (default: ${DEFAULT-VALUE}).", defaultValue = "11")
        int points;

        @Override
        public Integer call() {
            if (idx < 0 || idx >= OptList.size()) {
                throw new IllegalArgumentException("IDX must be a list index, in [0, " + OptList.size() + "), got "
                        + idx);
            }
            if (steps <= 0) {
                throw new IllegalArgumentException("--steps must be > 0, got " + steps);
            }
            if (points < 2 || points > MAX_POINTS) {
                throw new IllegalArgumentException("--points must be in [2, " + MAX_POINTS + "], got " + points);
            }
            ListVariant variant = variantOption.variant;
            NAdamWConfig published = OptList.config(idx);
            NAdamWConfig c = OptList.config(idx, variant);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("index %d: %s, as it runs under %s%n", idx, c.name(), variant);
            String nesterov = c.useNesterov() == published.useNesterov() ? String.valueOf(c.useNesterov())
                    : c.useNesterov() + " (the entry says " + published.useNesterov() + "; " + variant
                    + " never applies it)";
            out.printf("  learning_rate          %s%n  beta1                  %s%n  beta2                  %s%n"
                            + "  epsilon                %s%n  use_nesterov           %s%n  adamw_weight_decay     %s%n"
                            + "  l2_weight_decay        %s%n  warmup_fraction        %s%n  min_learning_rate_mult %s%n"
                            + "  constant_fraction      %s%n", c.learningRate(), c.beta1(), c.beta2(), c.epsilon(),
                    nesterov, c.adamwWeightDecay(), c.l2WeightDecay(), c.warmupFraction(),
                    c.minLearningRateMult(), c.constantFraction());
            out.printf("warm-up over %s of %d steps under %s%n", formatSteps(variant.warmupFraction(c) * steps),
                    steps, variant);
            out.printf("schedule over %d steps (%s):%n%10s  %14s%n", steps, variant, "step", "learning rate");
            for (int i = 0; i < points; i++) {
                long step = Math.round((double) i * steps / (points - 1));
                out.printf("%10d  %14.6e%n", step, CosineSchedule.learningRate(c, step, steps, variant));
            }
            return 0;
        }

        private static String formatSteps(double warmupSteps) {
            return warmupSteps == Math.rint(warmupSteps) ? String.valueOf((long) warmupSteps)
                    : String.format("%.3f", warmupSteps);
        }
    }

    @Command(name = "tasks", description = "Lists the built-in search tasks.")
    static final class TasksCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            for (SearchTask task : BuiltInTasks.all()) {
                spec.commandLine().getOut().printf("%-10s %s%n", task.name(), task.description());
            }
            return 0;
        }
    }

    @Command(name = "search", description = "Tries list entries in order on a built-in task and reports the best.")
    static final class SearchCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--task", required = true, description = "A built-in task (see 'tasks').")
        String task;

        @Option(names = "--trials", required = true, description = "How many list indices, from --start.")
        int trials;

        @Option(names = "--steps", required = true, description = "Training steps of every trial.")
        long steps;

        @Option(names = "--out", required = true, description = "Folder for the exports results.csv, results.jsonl"
                + " and search.png; without --storage it also holds the study, study.db.")
        Path out;

        @CommandLine.Mixin
        StudyOptions studyOptions;

        @Option(names = "--start", defaultValue = "0", description = "First list index (default: ${DEFAULT-VALUE}).")
        int start;

        @Option(names = "--shard", hidden = true, description = "Replaced by --storage.")
        String shard;

        @Option(names = "--pruner", paramLabel = "none|median", defaultValue = "none", description = "Stop trials whose"
                + " windowed training loss trails the median of the completed trials' (Optuna's MedianPruner;"
                + " default: ${DEFAULT-VALUE}).")
        String pruner;

        @Option(names = "--budget", paramLabel = "N", defaultValue = "0", description = "Start trials only while"
                + " the steps of N full trials are not spent; 0: no budget (default: ${DEFAULT-VALUE}).")
        int budget;

        @CommandLine.Mixin
        VariantOption variantOption;

        @CommandLine.Mixin
        RunOptions run;

        @Override
        public Integer call() throws Exception {
            if (shard != null) {
                throw new IllegalArgumentException("--shard is gone: start the same search on every machine with"
                        + " --storage postgresql://USER@HOST:PORT/DB (or --storage sqlite:///PATH on one machine);"
                        + " the workers share its trials (see docs/search.md)");
            }
            requirePath("--out", out);
            SearchTask searchTask = BuiltInTasks.byName(task);
            SearchSettings settings = new SearchSettings(task, steps, run.seed, start, trials,
                    searchTask.direction(), run.divergence(), variantOption.variant, run.workers,
                    run.threadsPerWorker);
            if (!pruner.equals("none") && !pruner.equals("median")) {
                throw new IllegalArgumentException("--pruner must be none or median, got '" + pruner + "'");
            }
            if (budget < 0) {
                throw new IllegalArgumentException("--budget must be >= 0 (0: no budget), got " + budget);
            }
            settings = settings.toBuilder().blasThreads(run.blasThreads(settings.intraOpThreads()))
                    .pruner(pruner.equals("median") ? PrunerSettings.median() : PrunerSettings.none())
                    .budget(budget == 0 ? SearchSettings.Budget.NONE : new SearchSettings.Budget(budget)).build();
            PrintWriter console = spec.commandLine().getOut();
            Study study = studyOptions.study(out);
            console.printf("search: task %s, %d trials from index %d, %d steps each, seed %d, %d worker(s)"
                            + " of %d thread(s), OpenBLAS threads %s%n", task, settings.indices().size(), start, steps,
                    run.seed, run.workers, settings.intraOpThreads(),
                    settings.blasThreads() == 0 ? "left alone" : String.valueOf(settings.blasThreads()));
            console.printf("study '%s' in %s%n", study.nameFor(settings), study.where());
            console.flush();
            SearchResult result;
            try (Progress progress = Progress.forConsole(console, settings.indices().size())) {
                result = Search.run(settings, searchTask, study, out, progress);
            }
            printSummary(console, result);
            return 0;
        }
    }

    @Command(name = "report", description = "Writes results.csv, results.jsonl and search.png of a study (any time,"
            + " also while workers run), or of a folder an earlier version wrote.")
    static final class ReportCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "DIR", arity = "0..1", description = "A search folder: its study.db, or an earlier"
                + " version's results files, merged.")
        Path folder;

        @Option(names = "--storage", description = "The study's database, as Optuna's URL: sqlite:///PATH or"
                + " postgresql://USER@HOST:PORT/DB.")
        String storage;

        @Option(names = "--study", description = "The study's name (needed when the database holds several).")
        String studyName;

        @Option(names = "--out", description = "Where the exports go (with --storage).")
        Path out;

        @Override
        public Integer call() throws Exception {
            SearchResult result;
            if (storage != null) {
                if (folder != null || out == null) {
                    throw new IllegalArgumentException("report --storage URL takes --out DIR, not a folder argument");
                }
                result = SearchReport.export(Study.at(storage, studyName), requirePath("--out", out));
            } else {
                if (folder == null || studyName != null || out != null) {
                    throw new IllegalArgumentException("report takes a folder (report DIR), or --storage URL"
                            + " [--study NAME] --out DIR");
                }
                result = SearchReport.rebuild(requirePath("DIR", folder));
            }
            printSummary(spec.commandLine().getOut(), result);
            return 0;
        }
    }

    static void printSummary(PrintWriter out, SearchResult result) {
        out.println();
        out.print(SearchReport.table(result));
        result.best().ifPresentOrElse(
                best -> out.printf("best: index %d (%s), objective %.6g%n", best.index(), best.name(),
                        best.objective()),
                () -> out.println("best: none; every trial failed or diverged"));
        out.println("files:");
        result.files().forEach(f -> out.println("  " + f.toAbsolutePath()));
        out.flush();
    }
}
