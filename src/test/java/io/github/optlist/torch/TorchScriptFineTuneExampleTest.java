package io.github.optlist.torch;

import io.github.optlist.Examples;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code TorchScriptFineTuneExample}, run in-process as a user's program: fine-tuning the committed TorchScript
 * model lowers its loss, and the model and optimizer files it writes load into a fresh optimizer over the reloaded
 * model and continue the run exactly as if it had not been interrupted.
 */
class TorchScriptFineTuneExampleTest {

    private static final String EXAMPLE = "TorchScriptFineTuneExample";
    private static final Path MODEL = Path.of("examples/python/model.pt");
    private static final long TRAINING_STEPS = 100;
    /** The example cycles through 8 batches: means over whole cycles compare the same data. */
    private static final int BATCHES = 8;

    @ParameterizedTest(name = "groups by name: {0}")
    @ValueSource(booleans = {true, false})
    void fineTuningLowersTheLossAndItsFilesContinueTheRun(boolean groupsByName, @TempDir Path dir) throws Exception {
        Path uninterrupted = dir.resolve("uninterrupted");
        Path handover = dir.resolve("handover");
        double[] losses = fineTune(uninterrupted, 60, groupsByName);
        assertTrue(Arrays.stream(losses).allMatch(Double::isFinite), Arrays.toString(losses));
        double first = Arrays.stream(losses, 0, BATCHES).average().orElseThrow();
        double last = Arrays.stream(losses, 60 - BATCHES, 60).average().orElseThrow();
        assertTrue(last < 0.85 * first, "the loss fell only from " + first + " to " + last);

        double[] before = fineTune(handover, 40, groupsByName);
        assertArrayEquals(Arrays.copyOf(losses, 40), before, "the first 40 steps do not depend on the length run");

        JitModule model = torch.load(handover.resolve("model.pt").toString());
        Tensor[] data = (Tensor[]) Examples.call(EXAMPLE, "dataset");
        try (NAdamWCosineDecay opt = (NAdamWCosineDecay) Examples.call(EXAMPLE, "optimizer", model, 0,
                TRAINING_STEPS, groupsByName)) {
            if (groupsByName) {
                assertEquals(2, opt.paramGroups().size());
                assertEquals(List.of("fc1.weight", "fc2.weight"), opt.paramGroups().get(0).names());
                assertEquals(List.of("fc1.bias", "norm.weight", "norm.bias", "fc2.bias"),
                        opt.paramGroups().get(1).names());
                assertEquals(0.0, opt.paramGroups().get(1).config().adamwWeightDecay());
            }
            opt.loadPythonStateDict(handover.resolve("optimizer.pt"));
            assertEquals(40, opt.stepCount());
            for (int k = 40; k < 60; k++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zeroGrad();
                    Tensor loss = (Tensor) Examples.call(EXAMPLE, "loss", model, data, k);
                    loss.backward();
                    opt.step();
                    assertEquals(losses[k], loss.item_double(), 0.0, "loss of step " + k + " after the handover");
                }
            }
        }
    }

    private static double[] fineTune(Path out, int steps, boolean groupsByName) throws Exception {
        double[] losses = (double[]) Examples.call(EXAMPLE, "fineTune", MODEL, out, 0, TRAINING_STEPS, steps,
                groupsByName);
        assertEquals(steps, losses.length);
        assertTrue(Files.size(out.resolve("model.pt")) > 0 && Files.size(out.resolve("optimizer.pt")) > 0);
        return losses;
    }
}
