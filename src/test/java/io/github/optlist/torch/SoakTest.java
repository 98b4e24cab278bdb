package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.bytedeco.pytorch.global.torch.relu;
import static org.bytedeco.pytorch.global.torch.tanh;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resident memory stays flat over a long run with {@code step()} called outside any scope of the caller.
 * The suite runs 3,000 steps; the long soak is
 * {@code mvn -B test -Dtest=SoakTest -Doptlist.soak.steps=100000}.
 */
class SoakTest {

    static final long WARMUP_STEPS = 1_000;
    static final long ALLOWED_GROWTH_KIB = 6 * 1024;

    /** Runs the training loop on every path once before any case measures, so the JIT's own growth is over. */
    @BeforeAll
    static void warmUpTheJvm() throws IOException {
        for (UpdatePath path : UpdatePath.values()) {
            train(path, 13, WARMUP_STEPS, k -> { });
        }
    }

    /**
     * Every update path, on a Nesterov entry with decoupled decay only (the fused path's in-place moment recovery)
     * and one with both decays (its copy, and the single- and multi-tensor paths' L2 buffer).
     */
    @ParameterizedTest(name = "{0} entry {1}")
    @CsvSource({"FUSED, 1", "FUSED, 13", "MULTI_TENSOR, 1", "MULTI_TENSOR, 13", "SINGLE_TENSOR, 1",
            "SINGLE_TENSOR, 13"})
    void residentMemoryStaysFlatOverThousandsOfSteps(UpdatePath path, int entry) throws IOException {
        long steps = Long.getLong("optlist.soak.steps", 3_000);
        long[] before = new long[1];
        train(path, entry, WARMUP_STEPS + steps, k -> {
            if (k == WARMUP_STEPS) {
                System.gc();
                before[0] = residentKiB();
            }
        });
        System.gc();
        long after = residentKiB();
        System.out.printf("soak, %s path, entry %d: %d steps, resident %d KiB after warm-up, %d KiB at the end"
                + " (%+d KiB)%n", path, entry, steps, before[0], after, after - before[0]);
        long growth = after - before[0];
        assertTrue(growth <= ALLOWED_GROWTH_KIB, "resident memory grew by " + growth + " KiB over " + steps + " steps");
    }

    /** The README example's model: three linear layers 2-256-256-2. */
    private static final class Mlp extends org.bytedeco.pytorch.Module {
        private final LinearImpl fc1 = register_module("fc1", new LinearImpl(2, 256));
        private final LinearImpl fc2 = register_module("fc2", new LinearImpl(256, 256));
        private final LinearImpl fc3 = register_module("fc3", new LinearImpl(256, 2));

        Tensor forward(Tensor x) {
            return fc3.forward(relu(fc2.forward(relu(fc1.forward(x)))));
        }
    }

    /** Trains the example's model, calling {@code beforeStep} with each step's index. */
    private static void train(UpdatePath path, int entry, long steps, StepHook beforeStep) throws IOException {
        manual_seed(0);
        Mlp model = new Mlp();
        try (var opt = TestTensors.forIdx(model.parameters(), entry, steps, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS.withUpdatePath(path))) {
            for (long k = 0; k < steps; k++) {
                beforeStep.accept(k);
                opt.zeroGrad();
                try (PointerScope forward = new PointerScope()) {
                    Tensor x = randn(64, 2).div_(new Scalar(4.0));
                    mse_loss(model.forward(x), tanh(x.add(new Scalar(1e-6)).reciprocal())).backward();
                }
                opt.step(); // outside any scope of ours
            }
        }
    }

    private interface StepHook {
        void accept(long step) throws IOException;
    }

    static long residentKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
