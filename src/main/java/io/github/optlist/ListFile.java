package io.github.optlist;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes the project's list file, which {@link OptList} reads once; the build's converter (in the tests'
 * sources, so that it does not ship: {@code mvn -q test-compile exec:java@convert-list}) writes it from the
 * published list. Not API: use {@code OptList}.
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
final class ListFile {

    /** Classpath location of the packaged list file. */
    static final String RESOURCE = "/io/github/optlist/opt_list.jsonl";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private ListFile() {
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

    /**
     * Parses a list file.
     *
     * @throws IllegalArgumentException if a line is malformed or out of sequence
     */
    static List<NAdamWConfig> read(BufferedReader reader) throws IOException {
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
    static void write(List<NAdamWConfig> configs, Writer writer) throws IOException {
        for (int i = 0; i < configs.size(); i++) {
            writer.write(MAPPER.writeValueAsString(Line.of(i, configs.get(i))));
            writer.write('\n');
        }
    }

    /** Reads the list file packaged with this library. */
    static List<NAdamWConfig> readPackaged() {
        var stream = ListFile.class.getResourceAsStream(RESOURCE);
        if (stream == null) {
            throw new IllegalStateException("the list resource " + RESOURCE + " is missing from the classpath");
        }
        try (var reader = new BufferedReader(new java.io.InputStreamReader(stream, StandardCharsets.UTF_8))) {
            return List.copyOf(read(reader));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }
}
