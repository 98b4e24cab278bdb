package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.bytedeco.pytorch.global.torch.cuda_device_count;
import static org.bytedeco.pytorch.global.torch.cuda_is_available;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Data parallel and ZeRO-1 over NCCL, two ranks on two CUDA devices of this machine, against the single-process
 * run on the CPU. Needs the CUDA build ({@code -Pcuda}) and two GPUs; skipped with the reason elsewhere.
 */
class NcclTest {

    @TempDir
    Path dir;

    @Test
    void ncclDataParallelAndZeroOneEqualOneProcess() throws Exception {
        assumeTrue(cuda_is_available() && cuda_device_count() >= 2, "NCCL needs two CUDA devices and the -Pcuda"
                + " build; this machine has " + (cuda_is_available() ? cuda_device_count() : 0) + " usable");
        List<String> output = Collections.synchronizedList(new ArrayList<>());
        Launcher.Result result = DistributedTrainingTest.launch(output, "nccl", dir.toString());
        assertEquals(List.of(0, 0), result.rankCodes(), () -> String.join("\n", output));
        double[] expected = TinyTraining.singleProcess(1, ListVariant.TORCH_PORT, DistributedWorker.STEPS,
                DistributedWorker.STEPS);
        for (String mode : List.of("dp", "zero")) {
            for (int rank = 0; rank < 2; rank++) {
                assertArrayEquals(expected, TinyTraining.read(dir.resolve("nccl-" + mode + "-rank" + rank + ".txt")),
                        1e-5, mode + " rank " + rank);
            }
        }
    }
}
