package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Moving one parameter's state between optimizers, as the sharded optimizer does. */
class ParamStateDictTest {

    private static Tensor leaf(long... shape) {
        return randn(shape).requires_grad_(true);
    }

    private static void stepWithGradients(NAdamWCosineDecay opt, Tensor... params) {
        opt.zeroGrad();
        for (Tensor p : params) {
            p.mul(p).sum().backward();
        }
        opt.step();
    }

    private static float[] values(Tensor t) {
        Tensor flat = t.detach().flatten().contiguous();
        float[] out = new float[(int) flat.numel()];
        flat.data_ptr_float().get(out);
        return out;
    }

    @Test
    void stateMovedToAnotherOptimizerContinuesAsTheOriginal() {
        manual_seed(3);
        Tensor a = leaf(3, 2);
        Tensor b = leaf(3, 2);
        b.detach().copy_(a.detach());
        try (NAdamWCosineDecay first = TestTensors.forIdx(new TensorVector(a), 1, 10, ListVariant.TORCH_PORT);
             NAdamWCosineDecay second = TestTensors.forIdx(new TensorVector(b), 1, 10,
                     ListVariant.TORCH_PORT)) {
            stepWithGradients(first, a);
            stepWithGradients(first, a);
            b.detach().copy_(a.detach());
            OptimizerState.Param state = first.stateDict(a);
            assertEquals(2, state.step());
            second.loadStateDict(b, state);
            second.setStepCount(first.stepCount());
            assertEquals(2, second.stepCount(b));
            stepWithGradients(first, a);
            stepWithGradients(second, b);
            assertArrayEquals(values(a), values(b), 0f);
            assertArrayEquals(values(first.stateDict(a).expAvgSq()), values(second.stateDict(b).expAvgSq()), 0f);
        }
    }

    @Test
    void masterWeightsMoveWithTheStateSoAHalfParameterContinuesExactly() {
        manual_seed(5);
        Tensor a = randn(3, 4).to(org.bytedeco.pytorch.global.torch.ScalarType.Half).requires_grad_(true);
        Tensor b = randn(3, 4).to(org.bytedeco.pytorch.global.torch.ScalarType.Half).requires_grad_(true);
        OptimizerOptions master = OptimizerOptions.DEFAULTS.withStatePrecision(StatePrecision.FLOAT32_MASTER_WEIGHTS);
        try (NAdamWCosineDecay first = TestTensors.forIdx(new TensorVector(a), 0, 10, ListVariant.TASKSET,
                master);
             NAdamWCosineDecay second = TestTensors.forIdx(new TensorVector(b), 0, 10, ListVariant.TASKSET,
                     master)) {
            stepWithGradients(first, a);
            stepWithGradients(first, a);
            b.detach().copy_(a.detach());
            OptimizerState.Param state = first.stateDict(a);
            // The master copy holds what float16 rounding dropped from the parameter.
            assertFalse(java.util.Arrays.equals(values(state.master()), values(a.detach().to(
                    org.bytedeco.pytorch.global.torch.ScalarType.Float))));
            second.loadStateDict(b, state);
            assertArrayEquals(values(state.master()), values(second.stateDict(b).master()), 0f);
            stepWithGradients(first, a);
            stepWithGradients(second, b);
            assertArrayEquals(values(a.detach().to(org.bytedeco.pytorch.global.torch.ScalarType.Float)),
                    values(b.detach().to(org.bytedeco.pytorch.global.torch.ScalarType.Float)), 0f);
        }
    }

    @Test
    void stateDictIsACopy() {
        Tensor a = leaf(4);
        try (NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(new TensorVector(a), 0, 10)) {
            OptimizerState.Param before = opt.stateDict(a);
            assertEquals(0, before.step());
            assertNull(before.expAvg());
            stepWithGradients(opt, a);
            OptimizerState.Param state = opt.stateDict(a);
            float[] saved = values(state.expAvg());
            state.expAvg().zero_();
            assertArrayEquals(saved, values(opt.stateDict(a).expAvg()), 0f);
        }
    }

    @Test
    void aStepZeroStateFreesTheMoments() {
        Tensor a = leaf(4);
        try (NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(new TensorVector(a), 0, 10)) {
            stepWithGradients(opt, a);
            opt.loadStateDict(a, OptimizerState.Param.empty());
            assertFalse(opt.stateDict(a).hasMoments());
            assertEquals(0, opt.stepCount(a));
        }
    }

    @Test
    void badStatesAreRefusedAndChangeNothing() {
        Tensor a = leaf(4);
        Tensor other = leaf(4);
        try (NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(new TensorVector(a), 0, 10)) {
            stepWithGradients(opt, a);
            float[] before = values(opt.stateDict(a).expAvg());
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> opt.loadStateDict(a, new OptimizerState.Param(5, randn(5), randn(5))));
            assertEquals("params[0] of group 0 has shape [4], the given moments [5]", shape.getMessage());
            assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(a, null));
            assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(other, OptimizerState.Param.empty()));
            assertThrows(IllegalArgumentException.class, () -> opt.setStepCount(-1));
            assertArrayEquals(before, values(opt.stateDict(a).expAvg()), 0f);
            assertEquals(1, opt.stepCount(a));
        }
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Param(-1, null, null));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Param(0, randn(2), randn(2)));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Param(1, randn(2), null));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Param(1, randn(2), randn(3)));
    }
}
