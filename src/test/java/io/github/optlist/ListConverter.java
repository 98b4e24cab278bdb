package io.github.optlist;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The build's list converter: reads the published list ({@code opt_list.json} and {@code names.txt}) and writes
 * the project's list file with {@link ListFile}. It lives in the tests' sources so that it runs at build time
 * ({@code mvn -q test-compile exec:java@convert-list}) but does not ship in the jar; the tests use it to check the
 * packaged list against the published one.
 */
public final class ListConverter {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .build();

    private ListConverter() {
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
     * Reads the published list from a folder holding {@code opt_list.json} and {@code names.txt}.
     *
     * @throws IllegalArgumentException if the two files disagree on the number of entries
     */
    static List<NAdamWConfig> readPublished(Path folder) throws IOException {
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

    /**
     * Converts the published list into the project's list file: {@code ListConverter PUBLISHED_FOLDER OUTPUT_FILE}.
     * Run by {@code mvn -q test-compile exec:java@convert-list}; see {@code list/README.md}.
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: ListConverter PUBLISHED_FOLDER OUTPUT_FILE   (got " + Arrays.toString(args)
                    + ")");
            System.exit(2);
        }
        List<NAdamWConfig> configs = readPublished(Path.of(args[0]));
        Path output = Path.of(args[1]);
        try (Writer writer = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            ListFile.write(configs, writer);
        }
        System.out.println("wrote " + configs.size() + " entries to " + output);
    }
}
