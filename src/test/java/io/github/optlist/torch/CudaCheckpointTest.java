package io.github.optlist.torch;

import io.github.optlist.OptList;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Checkpoints cross devices both ways; runs where CUDA is present, elsewhere skipped with the reason (or failed with
 * it under {@code -Doptlist.requireCuda=true}, see {@link CudaRequirement}).
 */
class CudaCheckpointTest {

    @TempDir
    Path dir;

    @BeforeEach
    void requireCuda() {
        CudaRequirement.requireDevices(1);
    }

    static Tensor[] on(Tensor[] params, String device) {
        return new Tensor[]{params[0].detach().to(new Device(device), params[0].scalar_type()).set_requires_grad(true),
                params[1].detach().to(new Device(device), params[1].scalar_type()).set_requires_grad(true)};
    }

    void roundTrip(String from, String to) throws IOException {
        Tensor[] source = on(CheckpointTest.params(), from);
        Path file = dir.resolve(from + "-" + to + ".ckpt");
        try (var opt = CheckpointTest.optimizer(source, OptList.config(1))) {
            CheckpointTest.run(opt, source, 0, 4);
            opt.save(file);
        }
        Tensor[] target = on(source, to);
        Tensor[] sameDevice = on(source, from);
        try (var opt = CheckpointTest.optimizer(target, OptList.config(1));
             var twin = CheckpointTest.optimizer(sameDevice, OptList.config(1))) {
            opt.load(file);
            twin.load(file);
            assertEquals(4, opt.stepCount());
            CheckpointTest.run(opt, target, 4, 8);
            CheckpointTest.run(twin, sameDevice, 4, 8);
            assertEquals(to.startsWith("cuda"), target[0].is_cuda());
        }
        for (int i = 0; i < 2; i++) {
            double[] expected = TestTensors.values(sameDevice[i]);
            double[] actual = TestTensors.values(target[i]);
            for (int j = 0; j < expected.length; j++) {
                assertEquals(expected[j], actual[j], 1e-5 * Math.max(1, Math.abs(expected[j])));
            }
        }
    }

    @Test
    void checkpointSavedFromCudaLoadsOnCpu() throws IOException {
        roundTrip("cuda:0", "cpu");
    }

    @Test
    void checkpointSavedFromCpuLoadsOnCuda() throws IOException {
        roundTrip("cpu", "cuda:0");
    }
}
