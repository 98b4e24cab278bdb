package io.github.optlist.internal;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;

import io.github.optlist.NAdamWConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads and writes the project's list file, and reads the published list it is generated from; its {@link #main}
 * is the build's converter ({@code mvn -q compile exec:java@convert-list}). Not API: use {@code OptList}.
 *
 * <p>The list file ({@code list/opt_list.jsonl}, packaged as the resource {@value #RESOURCE}) is JSON Lines:
 * one entry per line, in list order, each an object with the keys {@code index}, {@code name} and the ten
 * hyperparameters under their published names ({@code learning_rate}, {@code beta1}, {@code beta2},
 * {@code epsilon}, {@code use_nesterov}, {@code adamw_weight_decay}, {@code l2_weight_decay},
 * {@code warmup_fraction}, {@code min_learning_rate_mult}, {@code constant_fraction}). Doubles are written
 * in their shortest round-trip form, so they read back bit for bit. Bias correction is on for every entry and
 * is not stored.
 *
 * <p>Reading refuses, with an {@link IllegalArgumentException} naming the line, an unknown or missing key,
 * an index out of sequence, and a value a {@link NAdamWConfig} refuses.
 */
public final class OptListFile {

    /** Classpath location of the packaged list file. */
    public static final String RESOURCE = "/io/github/optlist/opt_list.jsonl";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private OptListFile() {
    }

    /** One line of the list file. */
    @JsonPropertyOrder({"index", "name", "learning_rate", "beta1", "beta2", "epsilon", "use_nesterov",
            "adamw_weight_decay", "l2_weight_decay", "warmup_fraction", "min_learning_rate_mult",
            "constant_fraction"})
    private record Line(int index, String name, double learningRate, double beta1, double beta2, double epsilon,
                        boolean useNesterov, double adamwWeightDecay, double l2WeightDecay, double warmupFraction,
                        double minLearningRateMult, double constantFraction) {

        static Line of(int index, NAdamWConfig c) {
            return new Line(index, c.name(), c.learningRate(), c.beta1(), c.beta2(), c.epsilon(), c.useNesterov(),
                    c.adamwWeightDecay(), c.l2WeightDecay(), c.warmupFraction(), c.minLearningRateMult(),
                    c.constantFraction());
        }

        NAdamWConfig toConfig() {
            return new NAdamWConfig(name, learningRate, beta1, beta2, epsilon, useNesterov, adamwWeightDecay,
                    l2WeightDecay, warmupFraction, minLearningRateMult, constantFraction, true);
        }
    }

    /** One object of the published {@code opt_list.json}, which has no names. */
    private record PublishedEntry(double learningRate, double beta1, double beta2, double epsilon,
                                  boolean useNesterov, double adamwWeightDecay, double l2WeightDecay,
                                  double warmupFraction, double minLearningRateMult, double constantFraction) {

        NAdamWConfig toConfig(String name) {
            return new NAdamWConfig(name, learningRate, beta1, beta2, epsilon, useNesterov, adamwWeightDecay,
                    l2WeightDecay, warmupFraction, minLearningRateMult, constantFraction, true);
        }
    }

    /**
     * Parses a list file.
     *
     * @throws IllegalArgumentException if a line is malformed or out of sequence
     */
    public static List<NAdamWConfig> read(BufferedReader reader) throws IOException {
        List<NAdamWConfig> configs = new ArrayList<>();
        String text;
        int lineNumber = 0;
        while ((text = reader.readLine()) != null) {
            lineNumber++;
            if (text.isBlank()) {
                continue;
            }
            Line line;
            try {
                line = MAPPER.readValue(text, Line.class);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("list file line " + lineNumber + ": " + e.getOriginalMessage(), e);
            }
            if (line.index() != configs.size()) {
                throw new IllegalArgumentException("list file line " + lineNumber + ": index " + line.index()
                        + " out of sequence, expected " + configs.size());
            }
            try {
                configs.add(line.toConfig());
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException("list file line " + lineNumber + ": " + e.getMessage(), e);
            }
        }
        return configs;
    }

    /** Writes configurations as a list file, one line each, indexed in the order given. */
    public static void write(List<NAdamWConfig> configs, Writer writer) throws IOException {
        for (int i = 0; i < configs.size(); i++) {
            writer.write(MAPPER.writeValueAsString(Line.of(i, configs.get(i))));
            writer.write('\n');
        }
    }

    /**
     * Reads the published list from a folder holding {@code opt_list.json} and {@code names.txt}.
     *
     * @throws IllegalArgumentException if the two files disagree on the number of entries
     */
    public static List<NAdamWConfig> readPublished(Path folder) throws IOException {
        PublishedEntry[] entries = MAPPER.readValue(folder.resolve("opt_list.json").toFile(), PublishedEntry[].class);
        List<String> names = Files.readAllLines(folder.resolve("names.txt"), StandardCharsets.UTF_8).stream()
                .filter(s -> !s.isBlank()).toList();
        if (names.size() != entries.length) {
            throw new IllegalArgumentException("opt_list.json has " + entries.length + " entries but names.txt has "
                    + names.size() + " names");
        }
        List<NAdamWConfig> configs = new ArrayList<>(entries.length);
        for (int i = 0; i < entries.length; i++) {
            configs.add(entries[i].toConfig(names.get(i).strip()));
        }
        return List.copyOf(configs);
    }

    /** Reads the list file packaged with this library. */
    public static List<NAdamWConfig> readPackaged() {
        var stream = OptListFile.class.getResourceAsStream(RESOURCE);
        if (stream == null) {
            throw new IllegalStateException("the list resource " + RESOURCE + " is missing from the classpath");
        }
        try (var reader = new BufferedReader(new java.io.InputStreamReader(stream, StandardCharsets.UTF_8))) {
            return List.copyOf(read(reader));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /**
     * Converts the published list into the project's list file: {@code OptListFile PUBLISHED_FOLDER OUTPUT_FILE}.
     * Run by {@code mvn -q compile exec:java@convert-list}; see {@code list/README.md}.
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: OptListFile PUBLISHED_FOLDER OUTPUT_FILE   (got " + Arrays.toString(args) + ")");
            System.exit(2);
        }
        List<NAdamWConfig> configs = readPublished(Path.of(args[0]));
        Path output = Path.of(args[1]);
        try (Writer writer = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            write(configs, writer);
        }
        System.out.println("wrote " + configs.size() + " entries to " + output);
    }
}
