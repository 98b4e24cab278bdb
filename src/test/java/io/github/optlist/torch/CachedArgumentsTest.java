package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static io.github.optlist.torch.TestTensors.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A step keeps its argument lists boxed from one step to the next (the fused kernel's, the gradients'): those lists
 * must never step a stale tensor, never keep a gradient alive, and never let a change between steps past the checks
 * that refuse it. Each case first takes two fused steps, so that every list is built, then changes something.
 */
class CachedArgumentsTest {

    /** An entry with decoupled decay and no L2 term: the fused path's plain kind. */
    private final NAdamWConfig entry = OptList.config(0, ListVariant.TORCH_PORT);

    private static Tensor floatParam(double... values) {
        return Tensor.create(values, values.length).to(ScalarType.Float).detach().set_requires_grad(true);
    }

    private static void setGrad(Tensor param, double... grad) {
        param.mutable_grad().put(Tensor.create(grad, grad.length).to(ScalarType.Float));
    }

    /** An entry with an L2 term and decoupled decay, whose fused step decays the parameters in a call of its own. */
    private final NAdamWConfig l2AndDecay = IntStream.range(0, OptList.size())
            .mapToObj(i -> OptList.config(i, ListVariant.TORCH_PORT))
            .filter(c -> !c.useNesterov() && c.l2WeightDecay() > 0 && c.adamwWeightDecay() > 0)
            .findFirst().orElseThrow();

    private NAdamWCosineDecay fused(Tensor param) {
        return fused(param, entry);
    }

    private static NAdamWCosineDecay fused(Tensor param, NAdamWConfig config) {
        return NAdamWCosineDecay.of(new OptimizerSpec(List.of(ParamGroup.of(List.of(param), config)), 1000,
                ListVariant.TORCH_PORT, OptimizerOptions.DEFAULTS));
    }

    /** Two fused steps on {@code param} with the gradient {@code 0.1, -0.2, 0.3}: every cached list is built. */
    private static void twoSteps(NAdamWCosineDecay opt, Tensor param) {
        setGrad(param, 0.1, -0.2, 0.3);
        opt.step();
        opt.step();
        assertEquals(UpdatePath.FUSED, opt.lastStepUpdates().get(0).path());
    }

    /**
     * The reference for a step after {@link #twoSteps}: a new optimizer, whose lists are all built at this step,
     * loaded with {@code opt}'s state and stepping a copy of {@code param} with {@code grad}.
     */
    private Tensor referenceStep(NAdamWCosineDecay opt, Tensor param, double... grad) {
        return referenceStep(opt, param, entry, grad);
    }

    private static Tensor referenceStep(NAdamWCosineDecay opt, Tensor param, NAdamWConfig config, double... grad) {
        Tensor copy = param.detach().clone().set_requires_grad(true);
        try (NAdamWCosineDecay fresh = fused(copy, config)) {
            fresh.loadState(opt.state());
            setGrad(copy, grad);
            fresh.step();
        }
        return copy;
    }

    @Test
    void aGradientReplacedBetweenStepsIsTheOneStepped() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param)) {
            twoSteps(opt, param);
            Tensor expected = referenceStep(opt, param, -0.7, 0.4, 0.05);
            // A new gradient tensor, as backward() makes after zeroGrad() set the old one to none.
            opt.zeroGrad();
            setGrad(param, -0.7, 0.4, 0.05);
            opt.step();
            assertArrayEquals(values(expected), values(param), "the step read this step's gradient");
        }
    }

    @Test
    void noGradientIsKeptAliveBetweenSteps() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param)) {
            twoSteps(opt, param);
            setGrad(param, -0.7, 0.4, 0.05);
            Tensor grad = param.grad();
            long holders = grad.use_count();
            opt.step();
            assertEquals(holders, grad.use_count(), "after a step the optimizer holds no reference to a gradient");
        }
    }

    @Test
    void aParameterGivenNewDataInPlaceIsTheOneStepped() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param)) {
            twoSteps(opt, param);
            // set_data keeps the tensor (its TensorImpl) and replaces its storage, as model.to(...) does.
            param.set_data(Tensor.create(new double[]{3.0, 4.0, -5.0}, 3).to(ScalarType.Float));
            Tensor expected = referenceStep(opt, param, 0.1, -0.2, 0.3);
            opt.step();
            assertArrayEquals(values(expected), values(param), "the step updated the parameter's new data");
        }
    }

    @Test
    void aParameterGivenNewDataInPlaceIsTheOneDecayedByAnEntryWithL2AndDecoupledDecay() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param, l2AndDecay)) {
            twoSteps(opt, param);
            param.set_data(Tensor.create(new double[]{3.0, 4.0, -5.0}, 3).to(ScalarType.Float));
            Tensor expected = referenceStep(opt, param, l2AndDecay, 0.1, -0.2, 0.3);
            opt.step();
            assertArrayEquals(values(expected), values(param), "the step decayed the parameter's new data");
        }
    }

    /** The state of {@code param} and its values, to compare before and after a refused step. */
    private record Snapshot(long stepCount, double[] expAvg, double[] expAvgSq, double[] param) {
        static Snapshot of(NAdamWCosineDecay opt, Tensor param) {
            OptimizerState.Param state = opt.stateDict(param);
            return new Snapshot(state.step(), values(state.expAvg()), values(state.expAvgSq()), values(param));
        }

        void assertSame(Snapshot after) {
            assertEquals(stepCount, after.stepCount, "step count");
            assertArrayEquals(expAvg, after.expAvg, "first moment");
            assertArrayEquals(expAvgSq, after.expAvgSq, "second moment");
            assertArrayEquals(param, after.param, "parameter");
        }
    }

    private static void assertRefusedChangingNothing(NAdamWCosineDecay opt, Tensor param, String... messageParts) {
        Snapshot before = Snapshot.of(opt, param);
        long steps = opt.stepCount();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, opt::step);
        for (String part : messageParts) {
            assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' should mention '" + part + "'");
        }
        before.assertSame(Snapshot.of(opt, param));
        assertEquals(steps, opt.stepCount());
    }

    @Test
    void aParameterResizedAfterCachedStepsIsRefusedChangingNothing() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param)) {
            twoSteps(opt, param);
            param.set_data(Tensor.create(new double[]{1, 2, 3, 4}, 4).to(ScalarType.Float));
            setGrad(param, 0.1, 0.1, 0.1, 0.1);
            assertRefusedChangingNothing(opt, param, "params[0] of group 0", "resized after its first update");
        }
    }

    @Test
    void aGradientOfAnotherShapeAfterCachedStepsIsRefusedChangingNothing() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param)) {
            twoSteps(opt, param);
            // A smaller gradient made the fused kernel read past its end before the checks refused it.
            setGrad(param, 0.1, 0.2);
            assertRefusedChangingNothing(opt, param, "params[0] of group 0 has shape [3] but its gradient [2]");
        }
    }

    @Test
    void aGradientOnAnotherDeviceAfterCachedStepsIsRefusedChangingNothing() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param)) {
            twoSteps(opt, param);
            // The meta device holds no data; it stands in for a GPU on machines without one.
            param.mutable_grad().put(Tensor.create(new float[]{0, 2, 0}, 3).to(new Device("meta"),
                    ScalarType.Float));
            assertRefusedChangingNothing(opt, param, "params[0] of group 0 is on cpu but its gradient is on meta");
        }
    }

    @Test
    void aGradientOfAnotherDtypeAfterCachedStepsLeavesTheFusedPathAsOnTheFirstStep() {
        Tensor param = floatParam(0.5, -1.0, 2.0);
        try (NAdamWCosineDecay opt = fused(param)) {
            twoSteps(opt, param);
            param.mutable_grad().put(Tensor.create(new double[]{0.1, -0.2, 0.3}, 3));
            opt.step();
            UpdatePath.Report report = opt.lastStepUpdates().get(0);
            assertEquals(UpdatePath.MULTI_TENSOR, report.path());
            assertEquals("params[0] of group 0 has dtype Float but its gradient Double", report.fallbackReason());
        }
    }
}
