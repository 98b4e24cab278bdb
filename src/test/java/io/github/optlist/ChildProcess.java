package io.github.optlist;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A program the tests run in a process of its own: a case that could crash the JVM (so the suite reports it instead
 * of dying), or Python. Its environment has {@code OMP_WAIT_POLICY=PASSIVE}; standard error is merged into the
 * output.
 *
 * @param exitCode the process's exit code
 * @param output   what it printed
 */
public record ChildProcess(int exitCode, String output) {

    /** Runs {@code command} to its end (at most five minutes, else the test fails). */
    public static ChildProcess run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = process.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            process.destroyForcibly();
        }
        assertTrue(done, command.get(0) + " did not finish: " + output);
        return new ChildProcess(process.exitValue(), output);
    }

    /** Runs {@code mainClass} in a child JVM on the tests' class path. */
    public static ChildProcess java(Class<?> mainClass, String... args) throws IOException, InterruptedException {
        return java(List.of(), mainClass, args);
    }

    /** Runs {@code mainClass} in a child JVM on the tests' class path, with {@code jvmOptions} (e.g. -Xmx). */
    public static ChildProcess java(List<String> jvmOptions, Class<?> mainClass, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass.getName()));
        command.addAll(List.of(args));
        return run(command);
    }
}
