package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole state as one value, the options as one value, and the optimizer interface over them. */
class OptimizerStateTest {

    static final long T = 10;

    static Tensor[] params() {
        return new Tensor[]{TestTensors.param(new double[]{1, -2, 3, 0.5}, 2, 2),
                TestTensors.param(new double[]{0.25, -1, 2}, 3)};
    }

    static NAdamWCosineDecay optimizer(Tensor[] params, OptimizerOptions options) {
        return TestTensors.optimizer(List.of(ParamGroup.of(List.of(params[0]), OptList.config(1)),
                ParamGroup.of(List.of(params[1]), TestTensors.withoutDecay(OptList.config(1)))), T, ListVariant.TASKSET,
                options);
    }

    static void step(ListOptimizer opt, Tensor[] params, int k) {
        opt.zeroGrad();
        TestTensors.setGrad(params[0], new double[]{0.1 * k, -0.2, 0.3, 0.4});
        TestTensors.setGrad(params[1], new double[]{-0.5, 0.1, 0.2 * k});
        opt.step();
    }

    @Test
    void stateMovedIntoAnotherOptimizerContinuesBitForBit() {
        Tensor[] first = params();
        Tensor[] second = params();
        try (PointerScope scope = new PointerScope();
             ListOptimizer a = optimizer(first, OptimizerOptions.DEFAULTS);
             ListOptimizer b = optimizer(second, OptimizerOptions.DEFAULTS)) {
            for (int k = 0; k < 3; k++) {
                step(a, first, k);
            }
            for (int i = 0; i < 2; i++) {
                second[i].detach().copy_(first[i].detach());
            }
            OptimizerState state = a.state();
            assertEquals(3, state.stepCount());
            assertEquals(2, state.groups().size());
            assertEquals(List.of(), state.groups().get(0).paramNames());
            b.loadState(state);
            assertEquals(3, b.stepCount());
            for (int k = 3; k < 6; k++) {
                step(a, first, k);
                step(b, second, k);
            }
        }
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(TestTensors.values(first[i]), TestTensors.values(second[i]), "param " + i);
        }
    }

    @Test
    void stateIsACopyTheOptimizerDoesNotShare() {
        Tensor[] params = params();
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay opt = optimizer(params,
                OptimizerOptions.DEFAULTS)) {
            step(opt, params, 1);
            OptimizerState state = opt.state();
            double[] before = TestTensors.values(opt.stateDict(params[0]).expAvg());
            state.groups().get(0).params().get(0).expAvg().fill_(new org.bytedeco.pytorch.Scalar(7.0));
            assertArrayEquals(before, TestTensors.values(opt.stateDict(params[0]).expAvg()));
        }
    }

    @Test
    void refusedStateLeavesTheOptimizerAsItWasNamingTheMismatch() {
        Tensor[] params = params();
        Tensor[] twin = params();
        try (PointerScope scope = new PointerScope();
             NAdamWCosineDecay opt = optimizer(params, OptimizerOptions.DEFAULTS);
             NAdamWCosineDecay twinOpt = optimizer(twin, OptimizerOptions.DEFAULTS)) {
            step(opt, params, 1);
            step(twinOpt, twin, 1);
            OptimizerState good = opt.state();
            OptimizerState longer = new OptimizerState(T + 1, good.variant(), good.statePrecision(), 5,
                    good.groups());
            OptimizerState otherConfig = new OptimizerState(T, good.variant(), good.statePrecision(), 5,
                    List.of(good.groups().get(0), new OptimizerState.Group(OptList.config(2),
                            good.groups().get(1).params())));
            OptimizerState otherShape = new OptimizerState(T, good.variant(), good.statePrecision(), 5,
                    List.of(new OptimizerState.Group(good.groups().get(0).config(), good.groups().get(1).params()),
                            new OptimizerState.Group(good.groups().get(1).config(), good.groups().get(0).params())));
            OptimizerState fewer = new OptimizerState(T, good.variant(), good.statePrecision(), 5,
                    List.of(good.groups().get(0)));
            assertRefused(opt, longer, "trainingSteps " + (T + 1));
            assertRefused(opt, otherConfig, "group 1 of the state has config");
            assertRefused(opt, otherShape, "has shape [2, 2], its state [3]");
            assertRefused(opt, fewer, "holds 1 parameter groups");
            assertRefused(opt, null, "must not be null");
            assertEquals(1, opt.stepCount());
            step(opt, params, 2);
            step(twinOpt, twin, 2);
        }
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(TestTensors.values(twin[i]), TestTensors.values(params[i]));
        }
    }

    static void assertRefused(ListOptimizer opt, OptimizerState state, String part) {
        var e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(state));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void halfPrecisionStateOfAnotherPrecisionIsRefused() {
        Tensor p = Tensor.create(new double[]{0.5, -0.25}, 2).to(ScalarType.BFloat16).detach().set_requires_grad(true);
        Tensor q = Tensor.create(new double[]{0.5, -0.25}, 2).to(ScalarType.BFloat16).detach().set_requires_grad(true);
        OptimizerOptions master = OptimizerOptions.DEFAULTS.withStatePrecision(StatePrecision.FLOAT32_MASTER_WEIGHTS);
        try (PointerScope scope = new PointerScope();
             var withMaster = TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), OptList.config(0))), T,
                     ListVariant.TASKSET, master);
             var plain = TestTensors.optimizer(List.of(ParamGroup.of(List.of(q), OptList.config(0))), T,
                     ListVariant.TASKSET)) {
            TestTensors.setGrad(p, new double[]{1, 1});
            withMaster.step();
            OptimizerState state = withMaster.state();
            assertEquals(ScalarType.Float.value, state.groups().get(0).params().get(0).master().scalar_type().value);
            assertRefused(plain, state, "statePrecision(StatePrecision.FLOAT32_MASTER_WEIGHTS)");
            assertEquals(0, plain.stepCount(q));
        }
    }

    @Test
    void groupAndWholeStateRefuseWhatCannotBeAState() {
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Group(null,
                List.of(OptimizerState.Param.empty())));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Group(OptList.config(0), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Group(OptList.config(0), List.of("a",
                "b"),
                List.of(OptimizerState.Param.empty())));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState.Group(OptList.config(0),
                Arrays.asList(OptimizerState.Param.empty(), null)));
        OptimizerState.Group group = new OptimizerState.Group(OptList.config(0), List.of(OptimizerState.Param.empty()));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState(0, ListVariant.TASKSET,
                StatePrecision.FLOAT32, 0, List.of(group)));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState(5, null, StatePrecision.FLOAT32, 0,
                List.of(group)));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState(5, ListVariant.TASKSET,
                StatePrecision.FLOAT32, -1, List.of(group)));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerState(5, ListVariant.TASKSET,
                StatePrecision.FLOAT32, 0, Arrays.asList(group, null)));
    }

    @Test
    void optionsAreOneImmutableValueWithABuilder() {
        assertEquals(new OptimizerOptions(UpdatePath.FUSED, StatePrecision.FLOAT32, false), OptimizerOptions.DEFAULTS);
        OptimizerOptions built = OptimizerOptions.builder().updatePath(UpdatePath.MULTI_TENSOR)
                .statePrecision(StatePrecision.PARAM_DTYPE).skipNonFiniteSteps(true).build();
        assertEquals(new OptimizerOptions(UpdatePath.MULTI_TENSOR, StatePrecision.PARAM_DTYPE, true), built);
        assertEquals(built, OptimizerOptions.DEFAULTS.withUpdatePath(UpdatePath.MULTI_TENSOR)
                .withStatePrecision(StatePrecision.PARAM_DTYPE).withSkipNonFiniteSteps(true));
        assertEquals(built, built.toBuilder().build());
        assertThrows(IllegalArgumentException.class, () -> OptimizerOptions.builder().updatePath(null));
        assertThrows(IllegalArgumentException.class, () -> new OptimizerOptions(UpdatePath.FUSED, null, false));
        Tensor[] params = params();
        assertThrows(IllegalArgumentException.class, () -> optimizer(params, null));
        try (var opt = optimizer(params, built)) {
            assertEquals(built, opt.options());
        }
    }
}
