package io.github.optlist.cli;

import io.github.optlist.distributed.Launcher;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code opt-list launch --nproc N <main class> [args]}: torchrun's role on one machine. Starts N JVMs on this
 * command's class path, each a rank with torchrun's environment variables set, prefixes their output with the rank,
 * stops them all when one fails, and exits with the failed rank's exit code (0 when all succeed). Everything after
 * the main class goes to it unparsed. See {@link Launcher}.
 */
@Command(name = "launch", modelTransformer = LaunchCommand.StopAtMainClass.class,
        description = {"Starts N ranks of a Java main class on this machine (torchrun's role): sets MASTER_ADDR,"
                + " MASTER_PORT, RANK, LOCAL_RANK, WORLD_SIZE (and OMP_WAIT_POLICY=PASSIVE, OMP_NUM_THREADS=1 unless"
                + " set), prefixes output with the rank, stops all when one fails, exits with its code.",
                "The class path is this command's, with --classpath entries first (e.g. target/examples for the"
                        + " examples, target/bench for the benchmarks)."})
public final class LaunchCommand implements Callable<Integer> {

    @Option(names = "--nproc", required = true, description = "The number of ranks (JVMs) to start.")
    int nproc;

    @Option(names = "--master-port", defaultValue = "0",
            description = "The rendezvous port on 127.0.0.1 (default: a free one).")
    int masterPort;

    @Option(names = "--java-option", description = "An option for every rank's JVM, e.g. --java-option=-Xmx2g"
            + " (repeatable).")
    List<String> javaOptions = new ArrayList<>();

    @Option(names = {"--classpath", "-cp"}, paramLabel = "PATH",
            description = "Folders or jars to put before this command's class path on every rank, separated by '"
                    + "${sys:path.separator}' (repeatable), e.g. target/examples.")
    List<String> classpath = new ArrayList<>();

    @Option(names = "--time-limit", description = "Stop every rank after this many seconds (default: none).")
    Long timeLimitSeconds;

    @Option(names = "--keep-going", description = "Let the other ranks run on when one fails.")
    boolean keepGoing;

    @Parameters(index = "0", paramLabel = "MAIN_CLASS", description = "The class whose main each rank runs.")
    String mainClass;

    @Parameters(index = "1..*", paramLabel = "ARG", description = "Its arguments.")
    List<String> args = new ArrayList<>();

    /**
     * Runs the ranks to the end; returns 0 when all succeed, else the first failed rank's exit code (124 when the
     * time limit stopped them).
     *
     * @throws IllegalArgumentException for a bad rank count, port or time limit, or a main class that is not on the
     *                                  class path; nothing is started then
     */
    @Override
    public Integer call() {
        if (timeLimitSeconds != null && timeLimitSeconds <= 0) {
            throw new IllegalArgumentException("--time-limit must be positive, got " + timeLimitSeconds);
        }
        Launcher.Settings settings = new Launcher.Settings(nproc, masterPort, rankClassPath(),
                mainClass, args, javaOptions, Map.of(), !keepGoing,
                timeLimitSeconds == null ? null : Duration.ofSeconds(timeLimitSeconds));
        Launcher.Result result = Launcher.run(settings, System.out::println);
        if (result.exitCode() != 0) {
            System.err.println("opt-list launch: " + result.summary(!keepGoing));
        }
        return result.exitCode();
    }

    /**
     * The ranks' class path: the {@code --classpath} entries, made absolute (the ranks may start elsewhere) and each
     * required to exist, then this command's own.
     */
    private String rankClassPath() {
        List<String> entries = new ArrayList<>();
        for (String option : classpath) {
            for (String entry : option.split(java.util.regex.Pattern.quote(File.pathSeparator))) {
                if (entry.isEmpty()) {
                    continue;
                }
                Path path = Path.of(entry).toAbsolutePath();
                if (!Files.exists(path)) {
                    throw new IllegalArgumentException("--classpath " + entry + ": no such folder or jar ("
                            + path + "); build the examples and benchmarks with mvn compile");
                }
                entries.add(path.toString());
            }
        }
        entries.add(System.getProperty("java.class.path"));
        return String.join(File.pathSeparator, entries);
    }

    /** Everything after the main class belongs to it: picocli stops parsing options at the first positional. */
    static final class StopAtMainClass implements CommandLine.IModelTransformer {
        @Override
        public CommandLine.Model.CommandSpec transform(CommandLine.Model.CommandSpec spec) {
            spec.parser().stopAtPositional(true);
            return spec;
        }
    }
}
