package io.github.optlist.torch;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.optlist.ListVariant;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static io.github.optlist.torch.PythonStateDictsTest.nesterovWithWarmup;
import static io.github.optlist.torch.PythonStateDictsTest.optimizer;
import static io.github.optlist.torch.PythonStateDictsTest.params;
import static io.github.optlist.torch.PythonStateDictsTest.plain;
import static io.github.optlist.torch.PythonStateDictsTest.run;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing (Jazzer) of the pickle a loader reads: any bytes as the {@code data.pkl} of an otherwise
 * valid state dict, its CRC32 made to match, loaded with {@code loadPythonStateDict} and {@code load}. Each must be
 * refused with a {@link CheckpointException} naming the file, the optimizer unchanged, or load a state the optimizer
 * then steps with; anything else (another exception, a hang Jazzer reports, a crash) is a finding.
 *
 * <p>Under {@code mvn test} it runs its seed inputs only (the pickles of a valid state dict and checkpoint, in
 * {@code src/test/resources/io/github/optlist/torch/PickleFuzzTestInputs}); {@code JAZZER_FUZZ=1} fuzzes, see
 * {@code docs/bad-input.md}. {@link LoaderFuzzTest} covers the zip container and runs every case in a child JVM.
 */
class PickleFuzzTest {

    /** The valid state dict whose pickle is replaced, written once per JVM. */
    private static final byte[] VALID = validStateDict();

    private static byte[] validStateDict() {
        try {
            Path dir = Files.createTempDirectory("pickle-fuzz");
            Tensor[][] params = params();
            try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
                run(opt, params, 3);
                opt.savePythonStateDict(dir.resolve("valid.pt"));
            }
            byte[] bytes = Files.readAllBytes(dir.resolve("valid.pt"));
            Files.delete(dir.resolve("valid.pt"));
            Files.delete(dir);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void anyPickleIsRefusedOrLoadsAValidState(byte[] pickle) throws IOException {
        Map<String, byte[]> entries = HostileFiles.unzip(VALID);
        entries.put(HostileFiles.pickleName(entries), pickle);
        Path file = Files.createTempFile("pickle-fuzz", ".pt");
        try {
            Files.write(file, HostileFiles.zip(entries));
            for (boolean asCheckpoint : new boolean[]{false, true}) {
                String outcome = LoaderFuzzTest.FuzzChild.runCase(file, asCheckpoint, true, null);
                assertTrue(outcome.equals("refused") || outcome.equals("loaded"), outcome);
            }
        } finally {
            Files.delete(file);
        }
    }
}
