package io.github.optlist.torch;

import io.github.optlist.examples.MlpRegressionExample.Mlp;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.randn;
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

    @Test
    void residentMemoryStaysFlatOverThousandsOfSteps() throws IOException {
        long steps = Long.getLong("optlist.soak.steps", 3_000);
        manual_seed(0);
        Mlp model = new Mlp();
        long before = 0;
        try (var opt = TorchOptList.optimizerForIdx(model.parameters(), 0, steps)) {
            for (long k = 0; k < WARMUP_STEPS + steps; k++) {
                if (k == WARMUP_STEPS) {
                    System.gc();
                    before = residentKiB();
                }
                opt.zeroGrad();
                try (PointerScope forward = new PointerScope()) {
                    Tensor x = randn(64, 2).div_(new Scalar(4.0));
                    mse_loss(model.forward(x), tanh(x.add(new Scalar(1e-6)).reciprocal())).backward();
                }
                opt.step(); // outside any scope of ours
            }
        }
        System.gc();
        long after = residentKiB();
        System.out.printf("soak: %d steps, resident %d KiB after warm-up, %d KiB at the end (%+d KiB)%n",
                steps, before, after, after - before);
        long growth = after - before;
        assertTrue(growth <= ALLOWED_GROWTH_KIB, "resident memory grew by " + growth + " KiB over " + steps + " steps");
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
