package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A TorchScript model written by Python fine-tunes through one call, {@code NAdamWCosineDecay.of(OptimizerSpec
 * .forIdx(NamedParameters.of(jitModule), idx, T, TORCH_PORT, options))},
         as the published PyTorch binding trained it: the same losses over 30 steps as Python's
 * uninterrupted run (the fixtures), for a plain entry, a Nesterov entry with warm-up, one with L2 decay and warm-up,
 * and one with L2 decay alone.
 */
class TorchScriptFineTuneTest {

    /**
     * The binding computes its schedule in float32 (the fixtures' README), this library in double: the learning
     * rates differ by up to 1.5e-7 relative, which moves the losses by far less than this.
     */
    private static final double RELATIVE_TOLERANCE = 1e-6;

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 15, 18})
    void aTorchScriptModelFromPythonTrainsAsTheBindingTrainedIt(int entry) {
        IValue expected = PythonFixtures.load(PythonFixtures.DIR.resolve("entry_" + entry + "/expected.pt"));
        List<Double> losses = PythonFixtures.doubles(PythonFixtures.get(expected, "losses"));
        PythonFixtures.Batches batches = PythonFixtures.Batches.read();
        JitModule model = PythonFixtures.model(PythonFixtures.DIR.resolve("model_init.pt"));
        try (NAdamWCosineDecay opt = TestTensors.forIdx(model, entry, PythonFixtures.TRAINING_STEPS,
                ListVariant.TORCH_PORT)) {
            assertEquals(PythonFixtures.strings(PythonFixtures.get(expected, "param_names")),
                    opt.paramGroups().get(0).names());
            for (int k = 0; k < PythonFixtures.STEPS; k++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zeroGrad();
                    Tensor loss = batches.loss(model, k);
                    double value = loss.item_double();
                    assertEquals(losses.get(k), value, RELATIVE_TOLERANCE * Math.abs(losses.get(k)),
                            "loss of step " + k + " of entry " + entry);
                    loss.backward();
                    opt.step();
                }
            }
        }
    }
}
