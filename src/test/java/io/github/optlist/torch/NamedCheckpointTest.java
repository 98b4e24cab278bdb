package io.github.optlist.torch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.distributed.GroupSettings;
import io.github.optlist.distributed.TestPorts;
import io.github.optlist.distributed.TrainingGroup;
import io.github.optlist.distributed.ZeroRedundancyOptimizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoints and states of models whose parameters have names: matched by name, refused naming a difference. */
class NamedCheckpointTest {

    private static final long T = 20;
    private static final ListVariant VARIANT = ListVariant.TORCH_PORT;
    private static final NAdamWConfig ENTRY = entryWithBothDecays();

    @TempDir
    Path dir;

    /** fc1 (4 -> 3), norm (LayerNorm over 3), fc2 (3 -> 2), fc2 registered as {@code last}. */
    private static org.bytedeco.pytorch.Module mlp(String last) {
        manual_seed(5);
        org.bytedeco.pytorch.Module model = new org.bytedeco.pytorch.Module();
        model.register_module("fc1", new LinearImpl(4, 3));
        model.register_module("norm", new LayerNormImpl(new LongVector(new long[]{3})));
        model.register_module(last, new LinearImpl(3, 2));
        return model;
    }

    /** The model's parameters by name, in registration order. */
    private static Map<String, Tensor> byName(org.bytedeco.pytorch.Module model) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        NamedParameters.of(model).entries().forEach(e -> out.put(e.name(), e.tensor()));
        return out;
    }

    /** The usual grouping: weights with {@link #ENTRY}, biases and norms without decay (fc1.bias ... fc2.bias). */
    private static List<ParamGroup> usualGroups(Map<String, Tensor> params) {
        return NamedParameters.of(params).groupBy(NamedParameters.withoutDecayOnBiasesAndNorms(ENTRY));
    }

    /**
     * The same parameters and configurations, laid out otherwise: the no-decay group first, each group's parameters
     * in reverse (so {@code norm.weight} and {@code norm.bias}, of one shape, trade places).
     */
    private static List<ParamGroup> reorderedGroups(Map<String, Tensor> params) {
        List<ParamGroup> usual = usualGroups(params);
        List<ParamGroup> out = new ArrayList<>();
        for (int g = usual.size() - 1; g >= 0; g--) {
            List<String> names = new ArrayList<>(usual.get(g).names());
            java.util.Collections.reverse(names);
            out.add(ParamGroup.named(names, names.stream().map(params::get).toList(), usual.get(g).config()));
        }
        return out;
    }

    private static NAdamWCosineDecay optimizer(List<ParamGroup> groups) {
        return TestTensors.optimizer(groups, T, VARIANT);
    }

    /** Step {@code k}: each parameter's gradient depends on its name and k only, whatever the group layout. */
    private static void step(ListOptimizer opt, Map<String, Tensor> params, int k) {
        opt.zeroGrad();
        params.forEach((name, p) -> TestTensors.setGrad(p,
                TestTensors.gaussian(new Random(31L * name.hashCode() + k), (int) p.numel(), 0.5)));
        opt.step();
    }

    /** A second model holding the same values as {@code source}, parameter by parameter. */
    private static Map<String, Tensor> copyOf(Map<String, Tensor> source, org.bytedeco.pytorch.Module into) {
        return copyOf(source, byName(into));
    }

    private static Map<String, Tensor> copyOf(Map<String, Tensor> source, Map<String, Tensor> target) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            source.forEach((name, p) -> target.get(name).detach().copy_(p.detach()));
        }
        return target;
    }

    private static void assertSameValues(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, p) -> assertArrayEquals(TestTensors.values(p), TestTensors.values(actual.get(name)),
                name));
    }

    /** Trains the usual layout three steps, saves, and checks that {@code resume} continues as the original. */
    private void assertResumesAsTheOriginal(Function<Map<String, Tensor>, List<ParamGroup>> layout, boolean viaFile)
            throws IOException {
        Map<String, Tensor> original = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay a = optimizer(usualGroups(original))) {
            for (int k = 0; k < 3; k++) {
                step(a, original, k);
            }
            Path file = dir.resolve("named.ckpt");
            a.save(file);
            Map<String, Tensor> resumed = copyOf(original, mlp("fc2"));
            try (NAdamWCosineDecay b = optimizer(layout.apply(resumed))) {
                if (viaFile) {
                    b.load(file);
                } else {
                    b.loadState(a.state());
                }
                assertEquals(3, b.stepCount());
                for (int k = 3; k < 6; k++) {
                    step(a, original, k);
                    step(b, resumed, k);
                }
            }
            assertSameValues(original, resumed);
        }
    }

    @Test
    void aCheckpointLoadsByNameIntoAModelWhoseParametersWereReorderedAndRegroupedAndContinuesBitForBit()
            throws IOException {
        assertResumesAsTheOriginal(NamedCheckpointTest::reorderedGroups, true);
    }

    @Test
    void aStateLoadsByNameIntoAModelWhoseParametersWereReorderedAndRegroupedAndContinuesBitForBit()
            throws IOException {
        assertResumesAsTheOriginal(NamedCheckpointTest::reorderedGroups, false);
    }

    @Test
    void parametersOfOneShapeTradingPlacesInOneGroupGetTheirOwnState() throws IOException {
        // Matching by position would load these three silently into the wrong parameters.
        Function<Map<String, Tensor>, List<ParamGroup>> rotated = params -> List.of(ParamGroup.named(
                List.of("c", "a", "b"), List.of(params.get("c"), params.get("a"), params.get("b")), ENTRY));
        for (boolean viaFile : new boolean[]{true, false}) {
            Map<String, Tensor> original = threeOfOneShape();
            try (PointerScope scope = new PointerScope();
                 NAdamWCosineDecay a = optimizer(List.of(NamedParameters.of(original).group(ENTRY)))) {
                for (int k = 0; k < 3; k++) {
                    step(a, original, k);
                }
                a.save(dir.resolve("three.ckpt"));
                Map<String, Tensor> resumed = copyOf(original, threeOfOneShape());
                try (NAdamWCosineDecay b = optimizer(rotated.apply(resumed))) {
                    if (viaFile) {
                        b.load(dir.resolve("three.ckpt"));
                    } else {
                        b.loadState(a.state());
                    }
                    for (String name : List.of("a", "b", "c")) {
                        assertArrayEquals(TestTensors.values(a.stateDict(original.get(name)).expAvg()),
                                TestTensors.values(b.stateDict(resumed.get(name)).expAvg()), name);
                    }
                    for (int k = 3; k < 5; k++) {
                        step(a, original, k);
                        step(b, resumed, k);
                    }
                }
                assertSameValues(original, resumed);
            }
        }
    }

    /** Three float64 parameters of shape [3], named a, b, c, the same values each call. */
    private static Map<String, Tensor> threeOfOneShape() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("a", TestTensors.param(new double[]{1, -2, 3}, 3));
        out.put("b", TestTensors.param(new double[]{0.5, 0.25, -1}, 3));
        out.put("c", TestTensors.param(new double[]{-3, 2, 0.75}, 3));
        return out;
    }

    @Test
    void theCheckpointRecordsEachParametersNameUnderFormat4() throws IOException {
        Map<String, Tensor> params = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay opt = optimizer(usualGroups(params))) {
            step(opt, params, 0);
            opt.save(dir.resolve("named.ckpt"));
        }
        JsonNode root = metadata(dir.resolve("named.ckpt"));
        assertEquals(4, root.path("version").asInt());
        List<String> names = new ArrayList<>();
        root.path("groups").forEach(g -> g.path("params").forEach(p -> names.add(p.path("name").asText())));
        assertEquals(List.of("fc1.weight", "fc2.weight", "fc1.bias", "norm.weight", "norm.bias", "fc2.bias"), names);
    }

    @Test
    void aModelWithARenamedParameterIsRefusedNamingItAndNothingChanges() throws IOException {
        Map<String, Tensor> original = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay a = optimizer(usualGroups(original))) {
            step(a, original, 0);
            step(a, original, 1);
            a.save(dir.resolve("named.ckpt"));
            OptimizerState saved = a.state();
            Map<String, Tensor> renamed = byName(mlp("head"));
            try (NAdamWCosineDecay b = optimizer(usualGroups(renamed))) {
                step(b, renamed, 7);
                Snapshot before = Snapshot.of(b, renamed);
                CheckpointException file = assertThrows(CheckpointException.class,
                        () -> b.load(dir.resolve("named.ckpt")));
                assertTrue(file.getMessage().contains("the checkpoint has 'fc2.weight' which this model lacks"),
                        file.getMessage());
                assertTrue(file.getMessage().contains("this model's 'head.weight' is not in the checkpoint"),
                        file.getMessage());
                before.assertUnchanged(b, renamed);
                IllegalArgumentException state = assertThrows(IllegalArgumentException.class,
                        () -> b.loadState(saved));
                assertTrue(state.getMessage().contains("the state has 'fc2.weight' which this model lacks"),
                        state.getMessage());
                before.assertUnchanged(b, renamed);
            }
        }
    }

    @Test
    void aModelLackingOrAddingAParameterIsRefusedNamingIt() throws IOException {
        Map<String, Tensor> original = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay a = optimizer(usualGroups(original))) {
            step(a, original, 0);
            a.save(dir.resolve("named.ckpt"));
            Map<String, Tensor> fewer = byName(mlp("fc2"));
            fewer.remove("norm.bias");
            try (NAdamWCosineDecay b = optimizer(usualGroups(fewer))) {
                CheckpointException e = assertThrows(CheckpointException.class,
                        () -> b.load(dir.resolve("named.ckpt")));
                assertTrue(e.getMessage().contains("the checkpoint has 'norm.bias' which this model lacks"),
                        e.getMessage());
                assertFalse(e.getMessage().contains("is not in the checkpoint"), e.getMessage());
                assertEquals(0, b.stepCount());
            }
            Map<String, Tensor> more = byName(mlp("fc2"));
            more.put("extra.bias", TestTensors.param(new double[]{1, 2}, 2).to(more.get("fc1.bias").scalar_type())
                    .detach().set_requires_grad(true));
            try (NAdamWCosineDecay b = optimizer(usualGroups(more))) {
                CheckpointException e = assertThrows(CheckpointException.class,
                        () -> b.load(dir.resolve("named.ckpt")));
                assertTrue(e.getMessage().contains("this model's 'extra.bias' is not in the checkpoint"),
                        e.getMessage());
                assertFalse(e.getMessage().contains("which this model lacks"), e.getMessage());
            }
        }
    }

    @Test
    void aParameterNowInAGroupOfAnotherConfigurationIsRefusedNamingIt() throws IOException {
        Map<String, Tensor> original = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay a = optimizer(usualGroups(original))) {
            step(a, original, 0);
            a.save(dir.resolve("named.ckpt"));
            Map<String, Tensor> resumed = byName(mlp("fc2"));
            // fc1.bias moves to the weight-decay group.
            List<ParamGroup> moved = NamedParameters.of(resumed).groupBy(entry -> entry.name().equals("fc1.bias")
                    || !NamedParameters.isBiasOrNorm(entry) ? ENTRY : TestTensors.withoutDecay(ENTRY));
            try (NAdamWCosineDecay b = optimizer(moved)) {
                CheckpointException file = assertThrows(CheckpointException.class,
                        () -> b.load(dir.resolve("named.ckpt")));
                assertTrue(file.getMessage().contains("'fc1.bias' is in a group with config"), file.getMessage());
                IllegalArgumentException state = assertThrows(IllegalArgumentException.class,
                        () -> b.loadState(a.state()));
                assertTrue(state.getMessage().contains("'fc1.bias' is in a group with config"), state.getMessage());
                assertEquals(0, b.stepCount());
                assertFalse(b.stateDict(resumed.get("fc1.bias")).hasMoments());
            }
        }
    }

    @Test
    void aNamedParameterOfAnotherShapeIsRefusedNamingIt() throws IOException {
        Map<String, Tensor> original = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay a = optimizer(usualGroups(original))) {
            step(a, original, 0);
            a.save(dir.resolve("named.ckpt"));
            Map<String, Tensor> wider = byName(mlp("fc2"));
            wider.put("fc2.bias", TestTensors.param(new double[]{1, 2, 3}, 3).to(wider.get("fc1.bias").scalar_type())
                    .detach().set_requires_grad(true));
            try (NAdamWCosineDecay b = optimizer(reorderedGroups(wider))) {
                CheckpointException file = assertThrows(CheckpointException.class,
                        () -> b.load(dir.resolve("named.ckpt")));
                assertTrue(file.getMessage().contains("'fc2.bias' (params[0] of group 0) has shape [2]"),
                        file.getMessage());
                IllegalArgumentException state = assertThrows(IllegalArgumentException.class,
                        () -> b.loadState(a.state()));
                assertTrue(state.getMessage().contains("'fc2.bias' (params[0] of group 0) has shape [3]"),
                        state.getMessage());
            }
        }
    }

    @Test
    void unnamedCheckpointsAndUnnamedOptimizersStillMatchByPosition() throws IOException {
        // Unnamed checkpoint into a named optimizer of the same layout, and named checkpoint into an unnamed one.
        for (boolean namedSaver : new boolean[]{false, true}) {
            Map<String, Tensor> first = byName(mlp("fc2"));
            try (PointerScope scope = new PointerScope();
                 NAdamWCosineDecay a = optimizer(namedSaver ? usualGroups(first) : unnamedGroups(first))) {
                for (int k = 0; k < 3; k++) {
                    step(a, first, k);
                }
                a.save(dir.resolve("mixed.ckpt"));
                Map<String, Tensor> second = copyOf(first, mlp("fc2"));
                try (NAdamWCosineDecay b = optimizer(namedSaver ? unnamedGroups(second) : usualGroups(second))) {
                    b.load(dir.resolve("mixed.ckpt"));
                    for (int k = 3; k < 6; k++) {
                        step(a, first, k);
                        step(b, second, k);
                    }
                }
                assertSameValues(first, second);
            }
        }
    }

    private static List<ParamGroup> unnamedGroups(Map<String, Tensor> params) {
        return usualGroups(params).stream().map(g -> ParamGroup.of(g.params(), g.config())).toList();
    }

    @Test
    void anUnnamedCheckpointIntoAReorderedNamedModelIsRefusedByPosition() throws IOException {
        Map<String, Tensor> first = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay a = optimizer(unnamedGroups(first))) {
            step(a, first, 0);
            a.save(dir.resolve("unnamed.ckpt"));
            Map<String, Tensor> second = byName(mlp("fc2"));
            try (NAdamWCosineDecay b = optimizer(reorderedGroups(second))) {
                CheckpointException e = assertThrows(CheckpointException.class,
                        () -> b.load(dir.resolve("unnamed.ckpt")));
                assertTrue(e.getMessage().contains("group 0 of the checkpoint holds 2 parameters, this optimizer 4"),
                        e.getMessage());
                assertEquals(0, b.stepCount());
            }
        }
    }

    @Test
    void aVersion3CheckpointLoadsByPosition() throws IOException {
        Map<String, Tensor> first = byName(mlp("fc2"));
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay a = optimizer(usualGroups(first))) {
            for (int k = 0; k < 3; k++) {
                step(a, first, k);
            }
            a.save(dir.resolve("named.ckpt"));
            Path version3 = asVersion3(dir.resolve("named.ckpt"));
            Map<String, Tensor> second = copyOf(first, mlp("fc2"));
            try (NAdamWCosineDecay b = optimizer(usualGroups(second))) {
                b.load(version3);
                for (int k = 3; k < 6; k++) {
                    step(a, first, k);
                    step(b, second, k);
                }
            }
            assertSameValues(first, second);
            try (NAdamWCosineDecay c = optimizer(reorderedGroups(byName(mlp("fc2"))))) {
                assertThrows(CheckpointException.class, () -> c.load(version3));
            }
        }
    }

    @Test
    void aNameGivenToParametersOfTwoGroupsIsRefusedAtConstruction() {
        Map<String, Tensor> params = threeOfOneShape();
        List<ParamGroup> groups = List.of(
                ParamGroup.named(List.of("a", "b"), List.of(params.get("a"), params.get("b")), ENTRY),
                ParamGroup.named(List.of("a"), List.of(params.get("c")), TestTensors.withoutDecay(ENTRY)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> optimizer(groups));
        assertTrue(e.getMessage().contains("the name 'a' is given to params[0] of group 0 and to params[0] of group 1"),
                e.getMessage());
    }

    @Test
    void aStateNamingAParameterTwiceIsRefused() {
        Map<String, Tensor> params = threeOfOneShape();
        try (PointerScope scope = new PointerScope();
             NAdamWCosineDecay opt = optimizer(List.of(NamedParameters.of(params).group(ENTRY)))) {
            OptimizerState state = opt.state();
            OptimizerState.Group group = state.groups().get(0);
            OptimizerState twice = new OptimizerState(T, VARIANT, state.statePrecision(), 0,
                    List.of(new OptimizerState.Group(ENTRY, List.of("a", "a", "b"), group.params())));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(twice));
            assertTrue(e.getMessage().contains("the state names two parameters 'a'"), e.getMessage());
        }
    }

    @Test
    void aNamedModelsShardedCheckpointLoadsByNameAndTheShardedOptimizerTakesANamedState() throws IOException {
        Map<String, Tensor> original = byName(mlp("fc2"));
        Path file = dir.resolve("zero.ckpt");
        try (PointerScope scope = new PointerScope();
             TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("127.0.0.1", TestPorts.freePort(), 0, 1,
                     Duration.ofSeconds(60)));
             ZeroRedundancyOptimizer zero = ZeroRedundancyOptimizer.of(group,
                     new OptimizerSpec(usualGroups(original), T, VARIANT, OptimizerOptions.DEFAULTS))) {
            for (int k = 0; k < 3; k++) {
                step(zero, original, k);
            }
            zero.save(file);
            Map<String, Tensor> resumed = copyOf(original, mlp("fc2"));
            try (NAdamWCosineDecay plain = optimizer(reorderedGroups(resumed))) {
                plain.load(file);
                assertEquals(3, plain.stepCount());
                // Back into the sharded optimizer, named, in the other layout.
                zero.loadState(plain.state());
                for (int k = 3; k < 6; k++) {
                    step(zero, original, k);
                    step(plain, resumed, k);
                }
            }
            assertSameValues(original, resumed);
        }
    }

    /** A copy of {@code saved} as format version 3 wrote it: no names. */
    private Path asVersion3(Path saved) throws IOException {
        InputArchive in = new InputArchive();
        in.load_from(saved.toString());
        IValue text = new IValue();
        in.read("metadata", text);
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = (ObjectNode) mapper.readTree(text.toStringRef().getString());
        root.put("version", 3);
        OutputArchive out = new OutputArchive();
        for (int g = 0; g < root.path("groups").size(); g++) {
            JsonNode params = root.path("groups").get(g).path("params");
            for (int i = 0; i < params.size(); i++) {
                ((ObjectNode) params.get(i)).remove("name");
                for (String name : new String[]{"exp_avg", "exp_avg_sq", "master"}) {
                    Tensor moment = new Tensor();
                    if (in.try_read("g" + g + ".p" + i + "." + name, moment)) {
                        out.write("g" + g + ".p" + i + "." + name, moment);
                    }
                }
            }
        }
        out.write("metadata", new IValue(mapper.writeValueAsString(root)));
        Path changed = dir.resolve("version3.ckpt");
        out.save_to(changed.toString());
        return changed;
    }

    private static JsonNode metadata(Path file) throws IOException {
        InputArchive in = new InputArchive();
        in.load_from(file.toString());
        IValue text = new IValue();
        in.read("metadata", text);
        return new ObjectMapper().readTree(text.toStringRef().getString());
    }

    /** What a refused load must leave as it was: the step count, each parameter's step and first moment. */
    private record Snapshot(long stepCount, Map<String, Long> steps, Map<String, double[]> expAvgs) {

        static Snapshot of(NAdamWCosineDecay opt, Map<String, Tensor> params) {
            Map<String, Long> steps = new LinkedHashMap<>();
            Map<String, double[]> expAvgs = new LinkedHashMap<>();
            params.forEach((name, p) -> {
                OptimizerState.Param dict = opt.stateDict(p);
                steps.put(name, dict.step());
                expAvgs.put(name, TestTensors.values(dict.expAvg()));
            });
            return new Snapshot(opt.stepCount(), steps, expAvgs);
        }

        void assertUnchanged(NAdamWCosineDecay opt, Map<String, Tensor> params) {
            Snapshot now = of(opt, params);
            assertEquals(stepCount, now.stepCount);
            assertEquals(steps, now.steps);
            expAvgs.forEach((name, values) -> assertArrayEquals(values, now.expAvgs.get(name), name));
        }
    }

    private static NAdamWConfig entryWithBothDecays() {
        for (int i = 0; i < OptList.size(); i++) {
            NAdamWConfig c = OptList.config(i, VARIANT);
            if (c.l2WeightDecay() != 0 && c.adamwWeightDecay() != 0) {
                return c;
            }
        }
        throw new AssertionError("the list has no entry with both kinds of weight decay");
    }
}
