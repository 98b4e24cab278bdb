package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.internal.NativeMemory;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A LibTorch error that escapes an update after every check passed reaches the caller as a
 * {@link StepFailedException} saying which bucket failed, with the optimizer in the state its Javadoc describes.
 */
class StepFailureTest {

    final NAdamWConfig entry = OptList.config(0);

    /**
     * Group 1's first moment is swapped for one of another shape, which no input check sees (the moments are the
     * optimizer's own), so the multi- and single-tensor ops fail in LibTorch ("the size of tensor a must match").
     * The fused path is left out: its kernel trusts the moments' sizes and would read past their end.
     */
    @ParameterizedTest
    @EnumSource(value = UpdatePath.class, names = {"MULTI_TENSOR", "SINGLE_TENSOR"})
    void libTorchErrorInOneBucketIsReportedWithTheBucketAndTheStepCountDoesNotAdvance(UpdatePath path) {
        Tensor a = randn(4).detach().set_requires_grad(true);
        Tensor b = randn(3).detach().set_requires_grad(true);
        try (var opt = TestTensors.optimizer(List.of(ParamGroup.of(List.of(a), entry),
                ParamGroup.of(List.of(b), entry)), 100, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS.withUpdatePath(path))) {
            ParamState broken = opt.stateOf(b);
            broken.initialize(StatePrecision.FLOAT32);
            NativeMemory.release(broken.expAvg);
            broken.expAvg = randn(5);
            double[] aBefore = TestTensors.values(a);
            double[] bBefore = TestTensors.values(b);
            TestTensors.setGrad(a, new double[]{1, 2, 3, 4});
            TestTensors.setGrad(b, new double[]{1, 2, 3});

            var e = assertThrows(StepFailedException.class, opt::step);

            assertTrue(e.getMessage().contains("params [0] of group 1 on the " + path + " path"), e.getMessage());
            assertTrue(e.getCause() instanceof RuntimeException, "LibTorch's exception is the cause");
            assertEquals(0, opt.stepCount(), "the optimizer's step count did not advance");
            assertEquals(1, e.completedUpdates().size());
            assertEquals(0, e.completedUpdates().get(0).group());
            assertEquals(1, e.failedUpdate().orElseThrow().group());
            assertEquals(e.completedUpdates(), opt.lastStepUpdates());
            assertEquals(1, opt.stepCount(a), "the bucket before the failure was updated in full");
            assertFalse(java.util.Arrays.equals(aBefore, TestTensors.values(a)));
            assertEquals(0, opt.stepCount(b), "the failed bucket's step count did not advance");
            // The failure came at the moments, before the parameter is written.
            assertArrayEquals(bBefore, TestTensors.values(b));
        }
    }
}
