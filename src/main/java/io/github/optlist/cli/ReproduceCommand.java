package io.github.optlist.cli;

import io.github.optlist.reproduce.ReproduceResult.TaskScores;
import io.github.optlist.reproduce.Reproduce;
import io.github.optlist.reproduce.ReproduceResult;
import io.github.optlist.reproduce.ReproduceSettings;
import io.github.optlist.reproduce.ReproduceTask;
import io.github.optlist.ListVariant;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code opt-list reproduce}: runs the {@link Reproduce} protocol on the built-in tasks and writes its plot, tables
 * and summary. Run again after a kill to continue.
 */
@Command(name = "reproduce", mixinStandardHelpOptions = true,
        description = "Measures the list against random search over the same 1000 configurations and against Adam"
        + " on the built-in tasks; writes summary.md, reproduce.png, trials.csv and trials.jsonl. Run it again after a"
        + " kill to continue.")
final class ReproduceCommand implements Callable<Integer> {

    /** The tasks of {@code --quick} without {@code --tasks}. */
    static final List<String> QUICK_TASKS = List.of("seed-mlp", "spirals");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--quick", description = "Two tasks, 20 steps per trial and a pool of 10: checks the plumbing"
            + " in seconds; its figures say nothing about the list.")
    boolean quick;

    @Option(names = "--out", description = "Folder of the results and report (default: runs/reproduce, or"
            + " runs/reproduce-quick with --quick).")
    Path out;

    @Option(names = "--tasks", split = ",", paramLabel = "NAME",
            description = "Built-in tasks to run, comma-separated (default: all; with --quick: seed-mlp,spirals).")
    List<String> tasks;

    @Option(names = "--pool", description = "Size of the random-search pool, in [10, 990] (default: 30; with"
            + " --quick: 10).")
    Integer pool;

    @CommandLine.Mixin
    RunOptions run;

    @Override
    public Integer call() throws Exception {
        ReproduceSettings base = quick ? ReproduceSettings.quick() : ReproduceSettings.protocol();
        if (out != null) {
            OptListCli.requirePath("--out", out);
        }
        ReproduceSettings settings = new ReproduceSettings(base.steps(), pool == null ? base.poolSize() : pool,
                base.poolSeed(), run.seed, run.divergence(), run.workers, run.threadsPerWorker);
        settings = settings.withBlasThreads(run.blasThreads(settings.intraOpThreads()))
                .withPruningSeeds(quick ? 1 : ReproduceSettings.PRUNING_SEEDS);
        List<ReproduceTask> chosen = tasks != null ? ReproduceTask.builtIn(tasks)
                : quick ? ReproduceTask.builtIn(QUICK_TASKS) : ReproduceTask.builtIn();
        Path folder = out != null ? out : Path.of(quick ? "runs/reproduce-quick" : "runs/reproduce");
        PrintWriter console = spec.commandLine().getOut();
        console.printf("reproduce: %d task(s), %s, pool of %d, seed %d, %d worker(s)%n", chosen.size(),
                settings.shortRuns() ? settings.steps() + " steps per trial (quick: plumbing only)"
                        : "each at its protocol length", settings.poolSize(), settings.seed(), settings.workers());
        console.flush();
        ReproduceResult result;
        try (Progress progress = Progress.forConsole(console, 0)) {
            result = Reproduce.run(settings, chosen, folder, progress);
        }
        console.println();
        for (TaskScores t : result.tasks()) {
            console.printf("%-12s %s%n", t.task(), t.scored() ? String.format(
                    "L0 %.4g  L* %.4g  list best-of-3 %.3f  random expected best-of-10 %.3f", t.initialLoss(),
                    t.bestLoss(), t.bestOfK().list(ListVariant.TASKSET, 3),
                    t.bestOfK().randomExpected().get(Reproduce.K - 1)) : t.note());
        }
        console.println("verdicts and figures: " + result.files().get(0).toAbsolutePath());
        console.println("files:");
        result.files().forEach(f -> console.println("  " + f.toAbsolutePath()));
        console.flush();
        return 0;
    }
}
