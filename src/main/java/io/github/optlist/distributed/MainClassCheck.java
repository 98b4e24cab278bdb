package io.github.optlist.distributed;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The check {@link Launcher} makes before it starts any rank: the main class is there to start. */
final class MainClassCheck {

    private MainClassCheck() {
    }

    /**
     * Refuses a main class that the ranks could not start: not on {@code classpath} (entries as {@code java -cp}
     * takes them, {@code dir/*} for the jars in a folder, jars' manifest class paths followed), or failing to load.
     * The class is loaded in a throw-away class loader without being initialized, so none of its code runs.
     *
     * @throws IllegalArgumentException naming the class and what is wrong
     */
    static void require(String classpath, String mainClass) {
        List<URL> urls = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            try {
                if (entry.endsWith("*") && (entry.length() == 1 || entry.endsWith(File.separator + "*"))) {
                    Path folder = Path.of(entry.substring(0, entry.length() - 1).isEmpty() ? "."
                            : entry.substring(0, entry.length() - 1));
                    if (Files.isDirectory(folder)) {
                        try (DirectoryStream<Path> jars = Files.newDirectoryStream(folder, "*.{jar,JAR}")) {
                            for (Path jar : jars) {
                                urls.add(jar.toUri().toURL());
                            }
                        }
                    }
                } else {
                    urls.add(Path.of(entry).toAbsolutePath().toUri().toURL());
                }
            } catch (IOException | RuntimeException e) {
                // An entry java cannot use either; the class is then looked for in the others.
            }
        }
        try (URLClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]),
                ClassLoader.getPlatformClassLoader())) {
            Class.forName(mainClass, false, loader);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("main class " + mainClass + " is not on the ranks' class path ("
                    + urls.size() + " entries); nothing was started");
        } catch (LinkageError e) {
            throw new IllegalArgumentException("main class " + mainClass + " cannot be loaded from the ranks' class"
                    + " path: " + e + "; nothing was started", e);
        } catch (IOException e) {
            // Closing the throw-away loader failed: the class was found, which is all that was asked.
        }
    }
}
