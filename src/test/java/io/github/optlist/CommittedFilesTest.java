package io.github.optlist;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The repository is the same on every machine: no committed file names an absolute path of the machine that wrote
 * it. TorchScript files did (issue 20): torch.jit.save puts the path of every Python source it scripted into the
 * deflated {@code code/**.py.debug_pkl} records, which the scripts under scripts/python now leave out.
 */
class CommittedFilesTest {

    /** Directories only a machine's own layout gives (homes, and the /work checkout the fixtures were made in). */
    private static final List<String> MACHINE_DIRECTORIES =
            Stream.of("home", "root", "work", "Users").map(d -> "/" + d + "/").toList(); // in parts: this file passes

    @Test
    void noCommittedFileNorZipEntryNamesAnAbsolutePathOfTheMachineThatWroteIt() throws Exception {
        List<Path> files = trackedFiles();
        List<String> found = new ArrayList<>();
        int zipEntries = 0;
        for (Path file : files) {
            if (Files.isSymbolicLink(file)) {
                scan(file + " (link)", Files.readSymbolicLink(file).toString().getBytes(StandardCharsets.UTF_8),
                        found);
                continue;
            }
            if (!Files.isRegularFile(file)) {
                continue; // tracked but deleted in this working tree: nothing of it will be committed
            }
            byte[] bytes = Files.readAllBytes(file);
            scan(file.toString(), bytes, found);
            // A zip's entries may be deflated (TorchScript's code records are): read each one inflated.
            if (bytes.length >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4) {
                try (ZipFile zip = new ZipFile(file.toFile())) {
                    for (ZipEntry entry : Collections.list(zip.entries())) {
                        try (InputStream in = zip.getInputStream(entry)) {
                            scan(file + "!/" + entry.getName(), in.readAllBytes(), found);
                        }
                        zipEntries++;
                    }
                }
            }
        }
        // The scan reached what it is for: the TorchScript files and their code records.
        assertTrue(files.contains(Path.of("examples", "python", "model.pt")), "git ls-files listed " + files.size());
        assertTrue(zipEntries > 100, "only " + zipEntries + " zip entries read");
        assertTrue(found.isEmpty(), "absolute paths of a machine in committed files:\n" + String.join("\n", found));
    }

    /** The files git tracks, relative to the repository root (the tests' working directory). */
    private static List<Path> trackedFiles() throws IOException, InterruptedException {
        Process git = new ProcessBuilder("git", "ls-files", "-z").redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        git.getOutputStream().close();
        String listing = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(git.waitFor(1, TimeUnit.MINUTES), "git ls-files did not finish");
        assertEquals(0, git.exitValue(), "git ls-files failed: the tests run from a git checkout");
        return Stream.of(listing.split("\0")).filter(name -> !name.isEmpty()).map(Path::of).toList();
    }

    private static void scan(String where, byte[] bytes, List<String> found) {
        String text = new String(bytes, StandardCharsets.ISO_8859_1); // one char per byte: finds ASCII in binary
        for (String directory : MACHINE_DIRECTORIES) {
            int at = text.indexOf(directory);
            if (at >= 0) {
                String context = text.substring(at, Math.min(text.length(), at + 60)).replaceAll("[^\\x20-\\x7e]", "?");
                found.add(where + ": " + context);
            }
        }
    }
}
