package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.distributed.GroupSettings;
import io.github.optlist.distributed.TestPorts;
import io.github.optlist.distributed.TrainingGroup;
import io.github.optlist.distributed.ZeroRedundancyOptimizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one value both optimizers are built from: it refuses each bad input naming it, the settings before any tensor
 * is read; a refused change leaves an optimizer's spec as it was; the unsharded and the sharded optimizer built from
 * one spec run the same steps on one rank; and options reach an optimizer built from a model.
 */
class OptimizerSpecTest {

    private static final NAdamWConfig ENTRY = OptList.config(1);
    private static final OptimizerOptions CHECKED = OptimizerOptions.builder().updatePath(UpdatePath.MULTI_TENSOR)
            .skipNonFiniteSteps(true).build();

    private static void assertRefused(Executable call, String... parts) {
        var e = assertThrows(IllegalArgumentException.class, call);
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' missing from: " + e.getMessage());
        }
    }

    private static List<ParamGroup> oneGroup() {
        return List.of(ParamGroup.of(List.of(TestTensors.param(new double[]{1, 2, 3}, 3)), ENTRY));
    }

    @Test
    void theSpecRefusesEachBadSettingNamingIt() {
        List<ParamGroup> groups = oneGroup();
        assertRefused(() -> new OptimizerSpec(groups, 0, ListVariant.TASKSET, OptimizerOptions.DEFAULTS),
                "trainingSteps", "0");
        assertRefused(() -> new OptimizerSpec(groups, CosineSchedule.MAX_STEPS + 1, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS), "trainingSteps", "2^53");
        assertRefused(() -> new OptimizerSpec(groups, 10, null, OptimizerOptions.DEFAULTS), "variant must not be null");
        assertRefused(() -> new OptimizerSpec(groups, 10, ListVariant.TASKSET, null), "options must not be null");
    }

    @Test
    void theSpecRefusesGroupsNoOptimizerCanRunOver() {
        Tensor p = TestTensors.param(new double[]{1, 2}, 2);
        assertRefused(() -> new OptimizerSpec(null, 10, ListVariant.TASKSET, OptimizerOptions.DEFAULTS),
                "at least one parameter group, got null");
        assertRefused(() -> new OptimizerSpec(List.of(), 10, ListVariant.TASKSET, OptimizerOptions.DEFAULTS),
                "at least one parameter group, got none");
        assertRefused(() -> new OptimizerSpec(Arrays.asList(ParamGroup.of(List.of(p), ENTRY), null), 10,
                ListVariant.TASKSET, OptimizerOptions.DEFAULTS), "group 1 is null");
        assertRefused(() -> new OptimizerSpec(List.of(ParamGroup.of(List.of(p), ENTRY), ParamGroup.of(List.of(p),
                ENTRY)), 10, ListVariant.TASKSET, OptimizerOptions.DEFAULTS), "params[0] of group 1", "same tensor");
    }

    @Test
    void aListEntrysSpecChecksTheIndexAndSettingsBeforeItReadsATensor() {
        // An integer tensor would be refused as params[1]; each bad setting is named first.
        TensorVector unusable = new TensorVector(TestTensors.param(new double[]{1}, 1),
                Tensor.create(new long[]{1, 2}, 2));
        OptimizerOptions defaults = OptimizerOptions.DEFAULTS;
        assertRefused(() -> OptimizerSpec.forIdx(unusable, -1, 10, ListVariant.TASKSET, defaults), "idx", "-1");
        assertRefused(() -> OptimizerSpec.forIdx(unusable, 0, -3, ListVariant.TASKSET, defaults), "trainingSteps");
        assertRefused(() -> OptimizerSpec.forIdx(unusable, 0, 10, null, defaults), "variant");
        assertRefused(() -> OptimizerSpec.forIdx(unusable, 0, 10, ListVariant.TASKSET, null), "options");
        assertRefused(() -> OptimizerSpec.forIdx(unusable, 0, 10, ListVariant.TASKSET, defaults), "params[1]");
        assertRefused(() -> OptimizerSpec.forIdx((NamedParameters) null, 0, 10, ListVariant.TASKSET, defaults),
                "params must not be null");
        assertRefused(() -> NAdamWCosineDecay.of(null), "spec must not be null");
    }

    @Test
    void aBadTrainingLengthOrIndexIsRefusedWithTheMessagesTheScheduleAndTheListGive() {
        // The messages docs/bad-input.md quotes; the schedule, the spec and the state each check the length.
        long tooLong = CosineSchedule.MAX_STEPS + 1;
        String tooLongMessage = "trainingSteps must be at most 2^53 (CosineSchedule.MAX_STEPS), got 9007199254740993";
        List<OptimizerState.Group> state = List.of(new OptimizerState.Group(ENTRY,
                List.of(OptimizerState.Param.empty())));
        for (long steps : new long[]{0, -3, tooLong}) {
            String expected = steps == tooLong ? tooLongMessage : "trainingSteps must be > 0, got " + steps;
            assertEquals(expected, refusal(() -> CosineSchedule.learningRate(ENTRY, 0, steps, ListVariant.TASKSET)));
            assertEquals(expected, refusal(() -> new OptimizerSpec(oneGroup(), steps, ListVariant.TASKSET,
                    OptimizerOptions.DEFAULTS)));
            assertEquals(expected, refusal(() -> new OptimizerState(steps, ListVariant.TASKSET, StatePrecision.FLOAT32,
                    0, state)));
        }
        TensorVector params = new TensorVector(TestTensors.param(new double[]{1}, 1));
        for (int idx : new int[]{-1, 1000}) {
            String expected = "idx must be in [0, 1000), got " + idx;
            assertEquals(expected, refusal(() -> OptList.config(idx)));
            // the index is checked before the training length
            assertEquals(expected, refusal(() -> OptimizerSpec.forIdx(params, idx, 0, ListVariant.TASKSET,
                    OptimizerOptions.DEFAULTS)));
        }
    }

    private static String refusal(Executable call) {
        return assertThrows(IllegalArgumentException.class, call).getMessage();
    }

    @Test
    void aListEntrysSpecHoldsTheEntryAsItsVariantRunsIt() {
        TensorVector params = new TensorVector(TestTensors.param(new double[]{1, 2}, 2));
        int nesterov = 0;
        while (!OptList.config(nesterov).useNesterov()) {
            nesterov++;
        }
        // TASKSET runs a Nesterov entry without Nesterov, TORCH_PORT as published.
        for (ListVariant variant : ListVariant.values()) {
            OptimizerSpec spec = OptimizerSpec.forIdx(params, nesterov, 10, variant, CHECKED);
            assertEquals(variant == ListVariant.TORCH_PORT, spec.groups().get(0).config().useNesterov());
            assertEquals(OptList.config(nesterov, variant), spec.groups().get(0).config());
            assertEquals(variant, spec.variant());
            assertSame(CHECKED, spec.options());
        }
    }

    @Test
    void aRefusedGroupLeavesTheOptimizersSpecAsItWas() {
        Tensor p = TestTensors.param(new double[]{1, 2}, 2);
        try (NAdamWCosineDecay opt = TestTensors.optimizer(new TensorVector(p), ENTRY, 10)) {
            OptimizerSpec before = opt.spec();
            assertRefused(() -> opt.addParamGroup(null), "group must not be null");
            assertRefused(() -> opt.addParamGroup(ParamGroup.of(List.of(p.detach()), ENTRY)), "shares memory");
            assertSame(before, opt.spec());
            Tensor q = TestTensors.param(new double[]{3}, 1);
            opt.addParamGroup(ParamGroup.of(List.of(q), ENTRY));
            assertEquals(2, opt.spec().groups().size());
            assertEquals(TensorChecks.identity(q), TensorChecks.identity(opt.paramGroups().get(1).params().get(0)));
        }
    }

    /** The values of {@code params} after steps with these gradients; step 1's second gradient holds NaN. */
    private static List<double[]> run(ListOptimizer opt, List<Tensor> params, long[] skippedAt) {
        double[][] grads = {{0.5, -1, 2}, {0.25, Double.NaN, 1}, {-0.5, 0.125, 3}};
        opt.setSkippedStepListener(step -> skippedAt[0] = step);
        for (int k = 0; k < 3; k++) {
            for (Tensor p : params) {
                TestTensors.setGrad(p, Arrays.copyOf(grads[k], (int) p.numel()));
            }
            opt.step();
        }
        List<double[]> values = new ArrayList<>();
        params.forEach(p -> values.add(TestTensors.values(p)));
        values.add(new double[]{opt.stepCount(), opt.skippedSteps()});
        return values;
    }

    @Test
    void theUnshardedAndTheShardedOptimizerBuiltFromOneSpecRunTheSameStepsOnOneRank() throws Exception {
        Tensor w = TestTensors.param(new double[]{1, -2, 3}, 3);
        Tensor b = TestTensors.param(new double[]{0.5}, 1);
        double[][] initial = {TestTensors.values(w), TestTensors.values(b)};
        OptimizerSpec spec = new OptimizerSpec(List.of(ParamGroup.of(List.of(w), ENTRY),
                ParamGroup.of(List.of(b), TestTensors.withoutDecay(ENTRY))), 5, ListVariant.TORCH_PORT, CHECKED);
        long[] plainSkip = {-1};
        long[] shardedSkip = {-1};
        List<double[]> plain;
        try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(spec)) {
            plain = run(opt, List.of(w, b), plainSkip);
        }
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            w.copy_(Tensor.create(initial[0], 3));
            b.copy_(Tensor.create(initial[1], 1));
        }
        List<double[]> sharded;
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("127.0.0.1", TestPorts.freePort(), 0, 1,
                Duration.ofSeconds(30)));
             ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group, spec)) {
            assertSame(spec, opt.spec());
            sharded = run(opt, List.of(w, b), shardedSkip);
        }
        for (int i = 0; i < plain.size(); i++) {
            assertArrayEquals(plain.get(i), sharded.get(i), "entry " + i);
        }
        assertArrayEquals(new double[]{2, 1}, plain.get(2), "two steps ran, the NaN one was skipped");
        assertEquals(1, plainSkip[0], "the listener heard of the skip after one step");
        assertEquals(plainSkip[0], shardedSkip[0]);
    }

    /** One finite step, then one with a NaN gradient: checks the options' path and skip reached the optimizer. */
    private static void assertOptionsRan(NAdamWCosineDecay opt) {
        assertSame(CHECKED, opt.options());
        List<Tensor> params = opt.paramGroups().stream().flatMap(g -> g.params().stream()).toList();
        for (Tensor p : params) {
            TestTensors.setGrad(p, new double[(int) p.numel()]);
        }
        opt.step();
        assertTrue(opt.lastStepUpdates().stream().allMatch(r -> r.path() == UpdatePath.MULTI_TENSOR),
                opt.lastStepUpdates().toString());
        double[] before = TestTensors.values(params.get(0));
        double[] nan = new double[(int) params.get(0).numel()];
        nan[0] = Double.NaN;
        TestTensors.setGrad(params.get(0), nan);
        opt.step();
        assertEquals(1, opt.skippedSteps());
        assertEquals(1, opt.stepCount());
        assertArrayEquals(before, TestTensors.values(params.get(0)));
    }

    @Test
    void optionsReachAnOptimizerBuiltFromACppModule() {
        org.bytedeco.pytorch.Module model = new org.bytedeco.pytorch.Module();
        model.register_module("fc", new LinearImpl(3, 2));
        try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(NamedParameters.of(model), 0, 10,
                ListVariant.TASKSET, CHECKED))) {
            assertEquals(List.of("fc.weight", "fc.bias"), opt.paramGroups().get(0).names());
            assertOptionsRan(opt);
        }
    }

    @Test
    void optionsReachAnOptimizerBuiltFromATorchScriptModule() {
        JitModule model = PythonFixtures.model(PythonFixtures.DIR.resolve("model_init.pt"));
        try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(NamedParameters.of(model), 0, 10,
                ListVariant.TORCH_PORT, CHECKED))) {
            assertTrue(opt.paramGroups().get(0).isNamed());
            assertOptionsRan(opt);
        }
    }
}
