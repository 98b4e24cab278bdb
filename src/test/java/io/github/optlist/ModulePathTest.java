package io.github.optlist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library as a named module, {@code io.github.optlist}, on the module path with the bytedeco, Jackson, picocli,
 * progressbar and XChart modules: it exports its API packages and not {@code io.github.optlist.internal}, and it
 * trains, writes its files and checkpoints there. The rest of the suite runs on the class path.
 */
class ModulePathTest {

    @TempDir
    Path dir;

    /** The library's classes and its runtime dependencies, without the tests and their JUnit and Jazzer. */
    private static String modulePath() {
        List<String> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String path = entry.replace(File.separatorChar, '/');
            boolean test = path.endsWith("/test-classes") || path.endsWith("/examples") || path.endsWith("/bench")
                    || path.contains("/org/junit/") || path.contains("/org/opentest4j/")
                    || path.contains("/org/apiguardian/") || path.contains("/com/code-intelligence/");
            if (!test && !entry.isEmpty()) {
                entries.add(entry);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static List<String> java(String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Djava.awt.headless=true",
                "--module-path", modulePath()));
        command.addAll(Arrays.asList(args));
        return command;
    }

    @Test
    void theModuleExportsItsApiAndNeitherItsInternalsNorItsCommandLine() throws Exception {
        ChildProcess described = ChildProcess.run(java("--describe-module", "io.github.optlist"));
        assertEquals(0, described.exitCode(), described.output());
        List<String> lines = described.output().lines().map(String::trim).toList();
        for (String api : List.of("io.github.optlist", "io.github.optlist.torch", "io.github.optlist.distributed",
                "io.github.optlist.search", "io.github.optlist.search.tasks", "io.github.optlist.reproduce")) {
            assertTrue(lines.contains("exports " + api), described.output());
        }
        assertFalse(lines.contains("exports io.github.optlist.internal"), described.output());
        assertFalse(lines.contains("exports io.github.optlist.cli"), described.output());
        assertTrue(lines.contains("requires java.desktop static"), described.output());
    }

    @Test
    void aSearchRunsOnTheModulePathAndWritesItsFiles() throws Exception {
        Path out = dir.resolve("search");
        ChildProcess search = ChildProcess.run(java("--add-modules", "ALL-MODULE-PATH",
                "-m", "io.github.optlist/io.github.optlist.cli.OptListCli",
                "search", "--task", "seed-mlp", "--trials", "2", "--steps", "5", "--out", out.toString()));
        assertEquals(0, search.exitCode(), search.output());
        assertTrue(search.output().contains("best: index"), search.output());
        for (String file : List.of("results.jsonl", "results.csv", "search.png")) {
            assertTrue(Files.exists(out.resolve(file)), file + " missing: " + search.output());
        }
    }

    /** The example saves and reloads a checkpoint (Jackson reading the module's package-private records). */
    @Test
    void aUserProgramOnTheClassPathCheckpointsThroughTheModule() throws Exception {
        Path examples = Path.of("target", "examples");
        ChildProcess example = ChildProcess.run(java("--add-modules", "ALL-MODULE-PATH", "-cp",
                examples.toString(), "io.github.optlist.examples.CheckpointExample"));
        assertEquals(0, example.exitCode(), example.output());
        assertTrue(example.output().toLowerCase().contains("resum"), example.output());
    }
}
