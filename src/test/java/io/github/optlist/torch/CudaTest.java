package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.ReferenceNAdamW;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs on a machine with CUDA and the CUDA build of the presets ({@code -Pcuda}); elsewhere skipped with the reason,
 * or failed with it under {@code -Doptlist.requireCuda=true} (see {@link CudaRequirement}).
 */
class CudaTest {

    @BeforeEach
    void requireCuda() {
        CudaRequirement.requireDevices(1);
    }

    @Test
    void float64UpdateOnCudaMatchesScalarReference() {
        Random random = new Random(3);
        for (NAdamWConfig config : new NAdamWConfig[]{OptList.config(0), OptList.config(1)}) {
            double[] p0 = TestTensors.gaussian(random, 33, 1.0);
            Tensor p = Tensor.create(p0, 33).to(new Device("cuda:0"), ScalarType.Double).set_requires_grad(true);
            ReferenceNAdamW ref = new ReferenceNAdamW(config, 10, ListVariant.TASKSET, p0);
            try (var opt = TestTensors.optimizer(new TensorVector(p), config, 10)) {
                for (int i = 0; i < 12; i++) {
                    double[] g = TestTensors.gaussian(random, 33, 1.0);
                    TestTensors.setGrad(p, g);
                    opt.step();
                    ref.step(g);
                }
            }
            assertEquals(true, p.is_cuda());
            NAdamWReferenceTest.assertClose(ref.params(), TestTensors.values(p), config.name() + " on CUDA");
        }
    }

    @Test
    void fusedAndMultiTensorPathsOnCudaAgreeWithSingleTensorPathOnCpu() {
        Random random = new Random(17);
        for (NAdamWConfig config : UpdatePathTest.configsOfEveryKind()) {
            for (UpdatePath path : new UpdatePath[]{UpdatePath.FUSED, UpdatePath.MULTI_TENSOR}) {
                var run = new UpdatePathTest.SideBySide(config, ScalarType.Double, path, random, new Device("cuda:0"));
                for (int step = 0; step < 12; step++) {
                    run.step(random, i -> true);
                    run.assertAgree(UpdatePathTest.FLOAT64_TOLERANCE, config.name() + " " + path + " step " + step);
                }
                assertEquals(12L * UpdatePathTest.SHAPES.length, run.tensorUpdates(path), path + " on CUDA");
                run.close();
            }
        }
    }

    @Test
    void halfPrecisionOnCudaAgreesWithTheSingleTensorPathOnCpu() {
        Random random = new Random(19);
        for (NAdamWConfig config : List.of(OptList.config(39), OptList.config(1))) {
            for (UpdatePath path : new UpdatePath[]{UpdatePath.FUSED, UpdatePath.MULTI_TENSOR}) {
                for (ScalarType dtype : new ScalarType[]{ScalarType.Half, ScalarType.BFloat16}) {
                    var run = new UpdatePathTest.SideBySide(config, dtype, path, random, new Device("cuda:0"));
                    for (int step = 0; step < 12; step++) {
                        run.step(random, i -> true);
                        // Both compute in float32 and round once; CUDA and CPU may round a few elements apart.
                        run.assertAgree(0.05, config.name() + " " + path + " " + dtype + " step " + step);
                    }
                    UpdatePath.Report update = run.fast.lastStepUpdates().get(0);
                    assertEquals(path, update.path(), update.fallbackReason());
                    assertEquals("Float", update.stateDtype());
                    run.close();
                }
            }
        }
    }

    @Test
    void stateFollowsAParameterMovedFromCpuToCuda() {
        NAdamWConfig config = OptList.config(1);
        Random random = new Random(23);
        double[] p0 = TestTensors.gaussian(random, 33, 1.0);
        Tensor p = Tensor.create(p0, 33).set_requires_grad(true);
        ReferenceNAdamW ref = new ReferenceNAdamW(config, 10, ListVariant.TASKSET, p0);
        try (var opt = TestTensors.optimizer(new TensorVector(p), config, 10)) {
            for (int i = 0; i < 8; i++) {
                if (i == 3) {
                    p.set_data(p.detach().to(new Device("cuda:0"), ScalarType.Double));
                }
                double[] g = TestTensors.gaussian(random, 33, 1.0);
                TestTensors.setGrad(p, g);
                opt.step();
                ref.step(g);
            }
            assertEquals("cuda:0", opt.lastStepUpdates().get(0).device());
            assertTrue(opt.stateOf(p).expAvg.is_cuda());
        }
        NAdamWReferenceTest.assertClose(ref.params(), TestTensors.values(p), "moved to CUDA after 3 steps");
    }

    @Test
    void gradientOnAnotherDeviceIsRefusedBeforeAnyChange() {
        Tensor p = Tensor.create(new double[]{1, 2, 3}, 3).to(new Device("cuda:0"), ScalarType.Double)
                .set_requires_grad(true);
        try (var opt = TestTensors.optimizer(new TensorVector(p), OptList.config(0), 10)) {
            p.mutable_grad().put(Tensor.create(new double[]{1, 1, 1}, 3));
            var refused = assertThrows(IllegalArgumentException.class, opt::step);
            assertTrue(refused.getMessage().contains("gradient is on cpu"), refused.getMessage());
            assertEquals(0, opt.stepCount(p));
        }
    }
}
