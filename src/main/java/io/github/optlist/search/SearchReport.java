package io.github.optlist.search;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Rebuilds a search's table, result lines and plot from a folder of results files, merging shards. */
public final class SearchReport {

    private SearchReport() {
    }

    /**
     * Reads {@code results.jsonl}, or merges every {@code results.shard-I-of-N.jsonl}, in {@code folder}, and
     * writes {@code results.csv}, {@code results.jsonl} and, when XChart is on the class path,
     * {@code search.png} there.
     *
     * @throws IllegalArgumentException if there are no results, if shard files come from different searches or
     *                                  shard counts, or if two files hold the same index
     */
    public static SearchResult rebuild(Path folder) throws IOException {
        List<Path> files = ResultsFile.filesIn(folder);
        ResultsHeader header = null;
        Map<String, TrialResult> merged = new LinkedHashMap<>();
        int shardCount = -1;
        for (Path file : files) {
            ResultsFile results = ResultsFile.read(file);
            Shard shard = Shard.parse(results.header().shard());
            if (header == null) {
                header = results.header();
                shardCount = shard.count();
            } else {
                String differences = header.differences(results.header());
                if (!differences.isEmpty()) {
                    throw new IllegalArgumentException(file + " comes from another search than " + files.get(0)
                            + " (" + differences + ")");
                }
                if (shard.count() != shardCount) {
                    throw new IllegalArgumentException(file + " is a shard of " + shard.count() + ", "
                            + files.get(0) + " of " + shardCount);
                }
            }
            for (TrialResult result : results.results()) {
                if (merged.putIfAbsent(result.label(), result) != null) {
                    throw new IllegalArgumentException("trial " + result.label() + " appears twice; " + file
                            + " overlaps another shard");
                }
            }
        }
        List<TrialResult> trials = new ArrayList<>(merged.values());
        trials.sort(ResultsFile.BY_INDEX);
        return write(folder, header.withShard(Shard.ALL), trials);
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
        SearchPlot.write(result, png);
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
