package io.github.optlist.search;

import io.github.optlist.internal.FolderLock;
import io.github.optlist.internal.Messages;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A search's exports: its table, result lines and plot, written from its study (or an earlier version's files). */
public final class SearchReport {

    private SearchReport() {
    }

    /**
     * Writes the exports of the study in {@code folder}'s {@code study.db} there: {@code results.csv},
     * {@code results.jsonl} and, when XChart is on the class path, {@code search.png}. A folder written by an earlier
     * version, without {@code study.db}, has its results files merged by trial instead (a trial found in several
     * files with the same result counts once).
     *
     * @throws IllegalArgumentException if the folder does not exist or holds neither a study nor results, if its
     *                                  database holds several studies, or if results files come from different
     *                                  searches, hold different results for one trial (naming both) or are damaged
     *                                  ({@link ResultsFile#read}, naming the file and line); nothing is written then
     * @throws IOException              if a file or the database cannot be read or written, naming it
     */
    public static SearchResult rebuild(Path folder) throws IOException {
        if (folder == null) {
            throw new IllegalArgumentException("folder must not be null");
        }
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException(folder + (Files.exists(folder) ? " is a file, not a folder"
                    : " does not exist"));
        }
        if (Files.exists(folder.resolve(Study.FILE))) {
            return export(Study.in(folder), folder);
        }
        try (FolderLock lock = FolderLock.acquire(folder, "report")) {
            LegacyResults.Merged merged = LegacyResults.merge(folder);
            return write(folder, merged.header(), merged.trials());
        }
    }

    /**
     * Writes the exports of {@code study} into {@code out} ({@code results.csv}, {@code results.jsonl} and, with
     * XChart, {@code search.png}): every finished trial, the latest of a retried one. It may run at any time, while
     * workers run: it shows the trials finished so far. A study without a name ({@link Study#in}) must be the only
     * one of its database.
     *
     * @throws IllegalArgumentException if an argument is null, the study does not exist or holds no search's
     *                                  settings, or its database holds several studies and none is named (naming
     *                                  them)
     * @throws IOException              if the database is unreachable or fails, or the exports cannot be written
     */
    public static SearchResult export(Study study, Path out) throws IOException {
        if (study == null || out == null) {
            throw new IllegalArgumentException("study and out must not be null");
        }
        StudyExport export = StudyExport.read(study);
        Files.createDirectories(out);
        return write(out, export.header(), export.trials());
    }

    /**
     * Writes the table, the result lines and the plot of complete results into {@code folder}. The plot needs
     * XChart, an optional dependency of the library: without it on the class path no {@code search.png} is
     * written, the result's files do not list it, and a warning says how to get it.
     */
    static SearchResult write(Path folder, ResultsHeader header, List<TrialResult> trials) throws IOException {
        Path png = folder.resolve("search.png");
        SearchResult tables = writeTables(folder, header, trials);
        if (!plotAvailable()) {
            System.getLogger(SearchReport.class.getName()).log(System.Logger.Level.WARNING,
                    "search.png not written: XChart is not on the class path (add org.knowm.xchart:xchart "
                            + "3.8.8 to your project to get the plot; results.csv and results.jsonl are complete)");
            return tables;
        }
        List<Path> files = new ArrayList<>(tables.files());
        files.add(png);
        SearchResult result = new SearchResult(header.task(), header.direction(), trials, files);
        try {
            SearchPlot.write(result, png);
        } catch (IOException e) {
            throw Messages.ioFailure("write plot", png, e);
        }
        return result;
    }

    /** Writes {@code results.csv} and {@code results.jsonl} of complete results into {@code folder}. */
    static SearchResult writeTables(Path folder, ResultsHeader header, List<TrialResult> trials) throws IOException {
        Path jsonl = folder.resolve("results.jsonl");
        Path csv = folder.resolve("results.csv");
        ResultsFile.writeJsonl(jsonl, header, trials);
        ResultsFile.writeCsv(csv, trials);
        return new SearchResult(header.task(), header.direction(), trials, List.of(csv, jsonl));
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
