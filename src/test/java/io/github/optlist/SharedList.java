package io.github.optlist;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where the published list lives: the system property {@code optlist.shared}, set by the build to
 * {@code ../shared/opt_list}; or, for a clone made in another folder ({@code git clone REPOSITORY OTHER}), the
 * {@code shared/opt_list} beside the repository it was cloned from.
 */
final class SharedList {

    private SharedList() {
    }

    static Path folder() {
        String configured = System.getProperty("optlist.shared", "");
        List<String> candidates = new ArrayList<>(List.of(configured, "../shared/opt_list"));
        Path origin = cloneOrigin();
        if (origin != null && origin.getParent() != null) {
            candidates.add(origin.getParent().resolve("shared").resolve("opt_list").toString());
        }
        for (String candidate : candidates) {
            if (!candidate.isEmpty() && Files.isRegularFile(Path.of(candidate, "opt_list.json"))) {
                return Path.of(candidate);
            }
        }
        throw new IllegalStateException("the published list was not found at " + candidates
                + "; pass -Doptlist.shared=/path/to/shared/opt_list");
    }

    /** The folder this checkout was cloned from, when its {@code origin} is a folder on this machine; else null. */
    private static Path cloneOrigin() {
        try {
            Process git = new ProcessBuilder("git", "config", "--get", "remote.origin.url")
                    .redirectErrorStream(true).start();
            String url = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!git.waitFor(10, TimeUnit.SECONDS) || git.exitValue() != 0 || url.isEmpty()) {
                return null;
            }
            Path path = Path.of(url.startsWith("file://") ? url.substring("file://".length()) : url);
            return path.isAbsolute() && Files.isDirectory(path) ? path : null;
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
