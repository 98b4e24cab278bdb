package io.github.optlist.search;

import io.github.optlist.internal.Messages;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Rebuilds a search's table, result lines and plot from a folder of results files, merging shards. */
public final class SearchReport {

    private SearchReport() {
    }

    /**
     * Merges every results file in {@code folder}, {@code results.jsonl} and each {@code results.shard-I-of-N.jsonl},
     * by trial, and writes {@code results.csv}, {@code results.jsonl} and, when XChart is on the class path,
     * {@code search.png} there. No finished trial of any file is dropped: a trial found in several files with the
     * same result counts once (a report's own {@code results.jsonl} repeats the shards' trials), and a later
     * unsharded search that added trials to {@code results.jsonl} keeps them. Holds the folder's
     * {@link FolderLock} while it reads and writes; a running shard's finished trials are included as far as they
     * are written.
     *
     * @throws IllegalArgumentException if the folder does not exist or holds no results, if the files come from
     *                                  different searches or shard files from different shard counts, if two
     *                                  files hold different results for one trial (naming both), or if a file is
     *                                  damaged, has two lines for one trial or a line that contradicts itself or
     *                                  the list ({@link ResultsFile#read}, naming the file and line); nothing is
     *                                  written then
     * @throws FolderLockedException    if a search, reproduce run or report writes the folder's own files
     * @throws IOException              if a file cannot be read or written, naming it
     */
    public static SearchResult rebuild(Path folder) throws IOException {
        if (folder == null) {
            throw new IllegalArgumentException("folder must not be null");
        }
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException(folder + (Files.exists(folder) ? " is a file, not a folder"
                    : " does not exist"));
        }
        try (FolderLock lock = FolderLock.acquire(folder, "report")) {
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
            return write(folder, header.withShard(Shard.ALL), trials);
        }
    }

    private static String brief(TrialResult r) {
        return r.status() + ", objective " + r.objective();
    }

    /**
     * Writes the table, the result lines and the plot of complete results into {@code folder}. The plot needs
     * XChart, an optional dependency of the library: without it on the class path no {@code search.png} is
     * written, the result's files do not list it, and a warning says how to get it.
     */
    static SearchResult write(Path folder, ResultsHeader header, List<TrialResult> trials) throws IOException {
        Path jsonl = folder.resolve("results.jsonl");
        Path csv = folder.resolve("results.csv");
        Path png = folder.resolve("search.png");
        ResultsFile.writeJsonl(jsonl, header, trials);
        ResultsFile.writeCsv(csv, trials);
        if (!plotAvailable()) {
            System.getLogger(SearchReport.class.getName()).log(System.Logger.Level.WARNING,
                    "search.png not written: XChart is not on the class path (add org.knowm.xchart:xchart "
                            + "3.8.8 to your project to get the plot; results.csv and results.jsonl are complete)");
            return new SearchResult(header, trials, List.of(csv, jsonl));
        }
        SearchResult result = new SearchResult(header, trials, List.of(csv, jsonl, png));
        try {
            SearchPlot.write(result, png);
        } catch (IOException e) {
            throw Messages.ioFailure("write plot", png, e);
        }
        return result;
    }

    /**
     * Whether XChart, the optional dependency the search and reproduce plots are drawn with, can be loaded; checked
     * without loading any plotting class.
     */
    public static boolean plotAvailable() {
        try {
            Class.forName("org.knowm.xchart.XYChart", false, SearchReport.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * A plain-text table of the trials sorted by index, with the variant, learning rate and Nesterov flag each ran
     * with, the best marked with {@code *}.
     */
    public static String table(SearchResult result) {
        StringBuilder out = new StringBuilder();
        String bestLabel = result.best().map(TrialResult::label).orElse(null);
        out.append(String.format("%5s  %-22s %-10s %11s %5s %-8s %14s %14s %8s  %s%n", "idx", "name", "variant", "lr",
                "nest", "status", "objective", "final loss", "seconds", "note"));
        for (TrialResult t : result.trials()) {
            out.append(String.format("%5s  %-22s %-10s %11.4e %5s %-8s %14.6g %14.6g %8.2f  %s%n",
                    t.index() == Candidate.CUSTOM ? "-" : String.valueOf(t.index()), t.name(), t.variant(),
                    t.config().learningRate(), t.config().useNesterov() ? "yes" : "no", t.status(), t.objective(),
                    t.finalLoss(), t.seconds(), t.label().equals(bestLabel) ? "* best" : t.reason()));
        }
        return out.toString();
    }
}
