package io.github.optlist.search;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * XChart, picocli and progressbar are optional dependencies: a library user has none of them. A search run from
 * Java must then still work, writing its results without the plot. Checked in a child JVM whose class path is
 * this test's without those jars, as a consumer project's would be.
 */
class SearchWithoutPlotLibrariesTest {

    private static final List<String> OPTIONAL = List.of("xchart", "picocli", "progressbar", "jline");

    @Test
    void searchFromJavaWritesResultsWithoutPngWhenXChartIsAbsent(@TempDir Path folder) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String withoutOptional = Arrays.stream(classPath.split(File.pathSeparator))
                .filter(entry -> OPTIONAL.stream().noneMatch(entry.toLowerCase()::contains))
                .collect(Collectors.joining(File.pathSeparator));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "-Xmx256m", "-Djava.awt.headless=true",
                "-cp", withoutOptional, ChildMain.class.getName(), folder.toString());
        builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        builder.redirectErrorStream(true);
        Process child = builder.start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), output);

        assertEquals(0, child.exitValue(), output);
        assertTrue(output.contains("search.png not written: XChart is not on the class path"), output);
        assertTrue(output.contains("files [results.csv, results.jsonl]"), output);
        assertTrue(Files.exists(folder.resolve("results.csv")), output);
        assertTrue(Files.exists(folder.resolve("results.jsonl")), output);
        assertFalse(Files.exists(folder.resolve("search.png")), output);
    }

    /** Runs in the child JVM: a one-trial search, as a library user without XChart would. */
    static final class ChildMain {

        /** Runs the search into the folder {@code args[0]}; exits non-zero if XChart is there or the trial fails. */
        public static void main(String[] args) throws Exception {
            try {
                Class.forName("org.knowm.xchart.XYChart");
                throw new AssertionError("XChart is on the child's class path");
            } catch (ClassNotFoundException expected) {
                // as for a library user
            }
            Path folder = Path.of(args[0]);
            SearchResult result = Search.run(SearchSettings.of("no-plot", 2, 1), context -> {
                context.reportLoss(0, 1.0);
                context.reportLoss(1, 0.5);
                return 0.5;
            }, folder, SearchListener.NONE);
            if (!result.trials().get(0).ok()) {
                throw new AssertionError("trial failed: " + result.trials().get(0).reason());
            }
            System.out.println("files " + result.files().stream().map(p -> p.getFileName().toString()).toList());
        }
    }
}
