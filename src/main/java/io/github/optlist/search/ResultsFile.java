package io.github.optlist.search;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

import io.github.optlist.internal.Messages;
import io.github.optlist.internal.AtomicFile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A search's results files: the exports a search writes from its study, and the files earlier versions wrote as
 * trials finished (which a study imports).
 *
 * <p>{@code results.jsonl} (an earlier version's shard I of N: {@code results.shard-I-of-N.jsonl}) is JSON Lines: a
 * {@link ResultsHeader}, then one {@link TrialResult} per line, with the configuration that ran and the loss curve.
 * {@code results.csv} beside it is the same table sorted by index, the configuration in columns and without curves.
 * Trials are told apart by their candidate's label. A line cut short by a kill is ignored.
 *
 * <p>A file read back is checked before anything uses it, since it may have been edited by hand: every line must be
 * a whole trial result (no missing or null value), no trial may have two lines, and each line must agree with
 * itself and with the list (a list index in {@code [0, 1000)} or {@link Candidate#CUSTOM}, a label of the form
 * {@code taskset-3} on that entry under that variant, a list entry's configuration as the list gives it). A refusal
 * names the file, the line (counted from 1, the
 * header being line 1) and what is wrong, and happens before anything is written.
 *
 * <p>Every I/O error names the operation, the file and the cause ({@link Messages#ioFailure}).
 */
final class ResultsFile {

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            // A null or fractional number in an edited line is refused, not read as 0 or rounded.
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(SerializationFeature.INDENT_OUTPUT)
            .build();
    private static final CsvMapper CSV = new CsvMapper();
    private static final CsvSchema CSV_SCHEMA = CSV.schemaFor(TrialResult.Row.class).withHeader();

    /** What to do about a line that is damaged or contradicts itself, the list or the search. */
    private static final String EDITED = ": the file was edited or damaged; repair or delete that line (the trial"
            + " then runs again on a resume), or move the file away to start over";

    /** The order of results tables: by list index (custom configurations, index -1, first), then label. */
    static final Comparator<TrialResult> BY_INDEX = Comparator.comparingInt(TrialResult::index)
            .thenComparing(TrialResult::label);

    private final ResultsHeader header;
    private final Map<String, TrialResult> results;

    private ResultsFile(ResultsHeader header, Map<String, TrialResult> results) {
        this.header = header;
        this.results = results;
    }

    /**
     * Reads a results file, ignoring a last line cut short by a kill, and checks it as the class description says.
     *
     * @throws IllegalArgumentException if it is not one (a folder, a pipe, another kind of file), or a line is not a
     *                                  trial result, is a second result for a trial, or contradicts itself or the
     *                                  list, naming the file and the line and what to do
     * @throws IOException              if it cannot be read, naming it
     */
    public static ResultsFile read(Path jsonl) throws IOException {
        if (Files.isDirectory(jsonl)) {
            throw new IllegalArgumentException(jsonl + " is a folder, not a results file; move it away");
        }
        if (Files.exists(jsonl) && !Files.isRegularFile(jsonl)) {
            // A pipe would block the read until someone writes to it; a device might never end.
            throw new IllegalArgumentException(jsonl + " is not a regular file (a pipe or a device), not a results"
                    + " file; move it away");
        }
        String text;
        try {
            text = Files.readString(jsonl, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw Messages.ioFailure("read", jsonl, e);
        }
        // A last line without its newline was cut short by a kill: it is not a result.
        List<String> lines = text.substring(0, text.lastIndexOf('\n') + 1).lines().toList();
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(jsonl + " is empty, not a results file; delete it to start the"
                    + " search over");
        }
        ResultsHeader header;
        try {
            header = JSON.readValue(lines.get(0), ResultsHeader.class);
        } catch (IOException e) {
            throw new IllegalArgumentException(jsonl + " line 1 is not a results header (" + jsonReason(e)
                    + "): it is not a search's results file; move it away or write to another folder", e);
        }
        if ("opt-list-search/1".equals(header.format())) {
            throw new IllegalArgumentException(jsonl + " has format opt-list-search/1: it was written before the list"
                    + " variants were made exact (its TASKSET trials applied the entries' Nesterov flag, which the"
                    + " ranked list never did), so it cannot be resumed, merged or reported with today's trials;"
                    + " start a new folder");
        }
        if (!ResultsHeader.FORMAT.equals(header.format())) {
            throw new IllegalArgumentException(jsonl + " has format " + header.format() + ", expected "
                    + ResultsHeader.FORMAT);
        }
        Map<String, TrialResult> results = new LinkedHashMap<>();
        Map<String, Integer> lineOf = new HashMap<>();
        for (int i = 1; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                int line = i + 1;
                TrialResult result;
                try {
                    result = JSON.readValue(lines.get(i), TrialResult.class);
                } catch (IOException e) {
                    throw new IllegalArgumentException(jsonl + " line " + line + " is not a trial result ("
                            + jsonReason(e) + ")" + EDITED, e);
                }
                String contradiction = ResultLines.contradiction(result);
                if (contradiction != null) {
                    throw new IllegalArgumentException(jsonl + " line " + line + " " + contradiction + EDITED);
                }
                Integer first = lineOf.putIfAbsent(result.label(), line);
                if (first != null) {
                    throw new IllegalArgumentException(jsonl + " line " + line + " is a second result for trial "
                            + result.label() + " (line " + first + " has the first): the file was edited or"
                            + " damaged; delete the line you do not want, or move the file away to start over");
                }
                results.put(result.label(), result);
            }
        }
        return new ResultsFile(header, results);
    }

    /** Jackson's reason without its location, which counts within the line, not the file. */
    private static String jsonReason(IOException e) {
        String message = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        return Messages.firstLine(message);
    }

    /** The header. */
    public ResultsHeader header() {
        return header;
    }

    /** The results, sorted by list index (custom configurations first), then label. */
    public List<TrialResult> results() {
        return results.values().stream().sorted(BY_INDEX).toList();
    }

    /** Writes {@code results.csv}-style table of {@code results}, written aside then renamed. */
    static void writeCsv(Path file, List<TrialResult> results) throws IOException {
        writeAtomically(file, CSV.writer(CSV_SCHEMA).writeValueAsString(results.stream().map(TrialResult.Row::of)
                .toList()));
    }

    /** Writes a complete results file: the header, then the results. */
    static void writeJsonl(Path file, ResultsHeader header, List<TrialResult> results) throws IOException {
        StringBuilder lines = new StringBuilder(JSON.writeValueAsString(header)).append('\n');
        for (TrialResult result : results) {
            lines.append(JSON.writeValueAsString(result)).append('\n');
        }
        writeAtomically(file, lines.toString());
    }

    /**
     * Writes {@code text} to {@code file} in UTF-8 with {@link AtomicFile}, so that a reader or a kill never sees
     * half a file; creates the folder if needed.
     *
     * @throws IOException if the file cannot be written, naming the operation, the file and the cause
     */
    public static void writeAtomically(Path file, String text) throws IOException {
        AtomicFile.requireFileName(file, "the results");
        Path folder = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw Messages.ioFailure("create folder", folder, e);
        }
        AtomicFile.writeString(file, "the results", text);
    }

    /**
     * Every results file in a folder: {@code results.jsonl} if present, then the shard files
     * ({@code results.shard-I-of-N.jsonl}) sorted by name.
     *
     * @throws IllegalArgumentException if there is none
     */
    static List<Path> filesIn(Path folder) throws IOException {
        List<Path> files = new ArrayList<>();
        Path single = folder.resolve("results.jsonl");
        if (Files.exists(single)) {
            files.add(single);
        }
        try (var stream = Files.list(folder)) {
            stream.filter(p -> p.getFileName().toString().matches("results\\.shard-\\d+-of-\\d+\\.jsonl"))
                    .sorted().forEach(files::add);
        } catch (IOException e) {
            throw Messages.ioFailure("list folder", folder, e);
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException(folder + " holds no results.jsonl and no results.shard-I-of-N.jsonl");
        }
        return files;
    }
}
