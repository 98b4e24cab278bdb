package io.github.optlist;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the published list lives: the system property {@code optlist.shared}, set by the build to ../shared/opt_list.
 */
final class SharedList {

    private SharedList() {
    }

    static Path folder() {
        String configured = System.getProperty("optlist.shared", "");
        for (String candidate : new String[]{configured, "../shared/opt_list"}) {
            if (!candidate.isEmpty() && Files.isRegularFile(Path.of(candidate, "opt_list.json"))) {
                return Path.of(candidate);
            }
        }
        throw new IllegalStateException("the published list was not found at '" + configured
                + "'; pass -Doptlist.shared=/path/to/shared/opt_list");
    }
}
