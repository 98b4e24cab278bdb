package io.github.optlist;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The public API fits on one screen: the public top-level types of the packages {@code module-info.java} exports
 * are at most {@value #MOST}, and the README's API table names exactly them.
 */
class ApiSurfaceTest {

    private static final int MOST = 45;
    private static final Path SOURCES = Path.of("src/main/java");
    private static final Pattern EXPORT = Pattern.compile("^\\s*exports\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
    private static final Pattern TYPE_NAME = Pattern.compile("`([A-Z]\\w*)`");

    @Test
    void theExportedPackagesHoldAtMostFortyFivePublicTopLevelTypes() throws Exception {
        Set<String> types = publicTopLevelTypes();
        assertTrue(types.size() <= MOST, types.size() + " public top-level types, at most " + MOST + ": " + types);
    }

    @Test
    void theReadmeApiTableNamesEveryPublicTypeAndNoOther() throws Exception {
        Set<String> simpleNames = new TreeSet<>();
        for (String type : publicTopLevelTypes()) {
            simpleNames.add(type.substring(type.lastIndexOf('.') + 1));
        }
        assertEquals(simpleNames, readmeApiTable());
    }

    @Test
    void theChecksAndHelpersOnlySiblingPackagesAndTestsUseAreNotPublic() throws Exception {
        // Each had a public operation doing the same check, or was reached only from another package or a test.
        String[][] methods = {{"io.github.optlist.OptList", "requireIndex"},
                {"io.github.optlist.CosineSchedule", "requireTrainingSteps"},
                {"io.github.optlist.torch.NAdamWCosineDecay", "setStepCount"},
                {"io.github.optlist.distributed.Launcher", "freePort"},
                {"io.github.optlist.search.SearchSettings", "requireWorkers"}};
        for (String[] method : methods) {
            Class<?> type = Class.forName(method[0], false, ApiSurfaceTest.class.getClassLoader());
            for (var m : type.getDeclaredMethods()) {
                assertTrue(!m.getName().equals(method[1]) || !Modifier.isPublic(m.getModifiers()),
                        method[0] + "." + method[1] + " is public");
            }
        }
    }

    private static Set<String> publicTopLevelTypes() throws IOException, ClassNotFoundException {
        Matcher m = EXPORT.matcher(Files.readString(SOURCES.resolve("module-info.java")));
        List<String> packages = new ArrayList<>();
        while (m.find()) {
            packages.add(m.group(1));
        }
        Set<String> types = new TreeSet<>();
        for (String pkg : packages) {
            Path dir = SOURCES.resolve(pkg.replace('.', '/'));
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    String simple = file.getFileName().toString().replace(".java", "");
                    if (simple.equals("package-info")) {
                        continue;
                    }
                    Class<?> type = Class.forName(pkg + "." + simple, false, ApiSurfaceTest.class.getClassLoader());
                    if (Modifier.isPublic(type.getModifiers())) {
                        types.add(type.getName());
                    }
                }
            }
        }
        return types;
    }

    /** The type names in the first column of the README's table under "## API". */
    private static Set<String> readmeApiTable() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("README.md"));
        int start = lines.indexOf("## API");
        assertTrue(start >= 0, "README.md has no '## API' section");
        Set<String> names = new TreeSet<>();
        boolean inTable = false;
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("|")) {
                inTable = true;
                String firstCell = line.split("\\|")[1];
                Matcher m = TYPE_NAME.matcher(firstCell);
                while (m.find()) {
                    names.add(m.group(1));
                }
            } else if (inTable || line.startsWith("## ")) {
                break;
            }
        }
        return names;
    }
}
