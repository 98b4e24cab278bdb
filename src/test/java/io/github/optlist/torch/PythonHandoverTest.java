package io.github.optlist.torch;

import io.github.optlist.ChildProcess;
import io.github.optlist.ListVariant;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A run moves between Python's binding and Java and goes on as if uninterrupted: the model as TorchScript, the
 * optimizer as the binding's {@code torch.save(opt.state_dict())} file. Python's runs are the committed fixtures
 * (see {@link PythonFixtures}); the direction into Python also runs Python itself where it is installed.
 */
class PythonHandoverTest {

    /** The binding's schedule runs in float32, this library's in double (see the fixtures' README). */
    private static final double RELATIVE_TOLERANCE = 1e-6;
    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 15, 18})
    void aRunStartedInPythonContinuesInJavaAsIfUninterrupted(int entry) throws Exception {
        Path fixtures = PythonFixtures.DIR.resolve("entry_" + entry);
        IValue expected = PythonFixtures.load(fixtures.resolve("expected.pt"));
        List<Double> losses = PythonFixtures.doubles(PythonFixtures.get(expected, "losses"));
        PythonFixtures.Batches batches = PythonFixtures.Batches.read();
        JitModule model = PythonFixtures.model(fixtures.resolve("model_k10.pt"));
        try (NAdamWCosineDecay opt = TestTensors.forIdx(model, entry, PythonFixtures.TRAINING_STEPS,
                ListVariant.TORCH_PORT)) {
            opt.loadPythonStateDict(fixtures.resolve("optim_k10.pt"));
            assertEquals(PythonFixtures.HANDOVER, opt.stepCount());
            for (int k = PythonFixtures.HANDOVER; k < PythonFixtures.STEPS; k++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zeroGrad();
                    Tensor loss = batches.loss(model, k);
                    assertEquals(losses.get(k), loss.item_double(), RELATIVE_TOLERANCE * Math.abs(losses.get(k)),
                            "loss of step " + k + " of entry " + entry);
                    loss.backward();
                    opt.step();
                }
            }
            GenericList finalParams = PythonFixtures.get(expected, "final_params").toList();
            List<Tensor> params = opt.paramGroups().get(0).params();
            for (int i = 0; i < params.size(); i++) {
                double[] want = TestTensors.values(finalParams.get(i).toTensor());
                double[] got = TestTensors.values(params.get(i));
                for (int j = 0; j < want.length; j++) {
                    assertEquals(want[j], got[j], RELATIVE_TOLERANCE * Math.max(1e-3, Math.abs(want[j])),
                            opt.paramGroups().get(0).names().get(i) + "[" + j + "] of entry " + entry);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 15})
    void aRunStartedInJavaContinuesInPythonAsIfUninterrupted(int entry) throws Exception {
        assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON + " (Debian's python3-torch) to continue the run");
        PythonFixtures.Batches batches = PythonFixtures.Batches.read();
        JitModule model = PythonFixtures.model(PythonFixtures.DIR.resolve("model_init.pt"));
        Path modelFile = dir.resolve("model.pt");
        Path optimFile = dir.resolve("optim.pt");
        try (NAdamWCosineDecay opt = TestTensors.forIdx(model, entry, PythonFixtures.TRAINING_STEPS,
                ListVariant.TORCH_PORT)) {
            for (int k = 0; k < PythonFixtures.HANDOVER; k++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zeroGrad();
                    batches.loss(model, k).backward();
                    opt.step();
                }
            }
            model.save(modelFile.toString());
            opt.savePythonStateDict(optimFile);
        }
        ChildProcess python = ChildProcess.run(List.of(PYTHON.toString(), "scripts/python/continue_from_java.py",
                "--model", modelFile.toString(), "--optim", optimFile.toString(),
                "--expected", PythonFixtures.DIR.resolve("entry_" + entry + "/expected.pt").toString(),
                "--tolerance", String.valueOf(RELATIVE_TOLERANCE)));
        String printed = python.output();
        assumeTrue(!printed.contains("No module named 'torch'"), "python3 has no torch: " + printed);
        assertEquals(0, python.exitCode(), printed);
        assertTrue(printed.contains("\"start\": 10"), printed);
    }

    /**
     * LibTorch's unpickler checks no CRC: a flipped bit inside a moment would load silently. The file's CRC32s are
     * checked first, so it is refused and the optimizer keeps its state.
     */
    @org.junit.jupiter.api.Test
    void aPythonStateDictWithAFlippedBitIsRefusedAndChangesNothing() throws Exception {
        Path fixtures = PythonFixtures.DIR.resolve("entry_0");
        byte[] bytes = Files.readAllBytes(fixtures.resolve("optim_k10.pt"));
        int largest = 20 * 144 * Double.BYTES; // fc1.weight's exp_avg, most of the file
        assertTrue(bytes.length > 2 * largest, "the fixture holds the moments it should");
        bytes[bytes.length / 2] ^= 0x10;
        Path damaged = dir.resolve("damaged.pt");
        Files.write(damaged, bytes);
        JitModule model = PythonFixtures.model(fixtures.resolve("model_k10.pt"));
        try (NAdamWCosineDecay opt = TestTensors.forIdx(model, 0, PythonFixtures.TRAINING_STEPS,
                ListVariant.TORCH_PORT)) {
            opt.loadPythonStateDict(fixtures.resolve("optim_k10.pt"));
            CheckpointException e = org.junit.jupiter.api.Assertions.assertThrows(CheckpointException.class,
                    () -> opt.loadPythonStateDict(damaged));
            assertTrue(e.getMessage().contains(damaged.toString()) && e.getMessage().contains("damaged"),
                    e.getMessage());
            assertEquals(PythonFixtures.HANDOVER, opt.stepCount());
        }
    }
}
