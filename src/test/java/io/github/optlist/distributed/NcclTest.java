package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Data parallel and ZeRO-1 over NCCL, two ranks on two CUDA devices of this machine, against the single-process
 * run on the CPU. Needs the CUDA build ({@code -Pcuda}) and two GPUs; skipped with the reason elsewhere (failed with it
 * under {@code -Doptlist.requireCuda=true}, see {@link io.github.optlist.torch.CudaRequirement}).
 */
class NcclTest {

    @TempDir
    Path dir;

    @Test
    void ncclDataParallelAndZeroOneEqualOneProcess() throws Exception {
        io.github.optlist.torch.CudaRequirement.requireDevices(2);
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
