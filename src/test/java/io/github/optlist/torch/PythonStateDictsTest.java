package io.github.optlist.torch;

import io.github.optlist.ChildProcess;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.torch.files.PythonStateDicts;
import io.github.optlist.torch.files.TorchSaveWriter;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PythonStateDictsTest {

    static final long T = 40;
    static final Path PYTHON = Path.of("/usr/bin/python3");
    static final Path FIXTURES = Path.of("src/test/resources/python-fixtures");

    @TempDir
    Path dir;

    /** Two groups: a float32 matrix and a float64 vector, and a float32 bias that never gets a gradient. */
    static Tensor[][] params() {
        Random random = new Random(5);
        return new Tensor[][]{
                {Tensor.create(floats(random, 12), 3, 4).set_requires_grad(true),
                        Tensor.create(floats(random, 3), 3).set_requires_grad(true)},
                {TestTensors.param(TestTensors.gaussian(random, 5, 1.0), 5)}};
    }

    static float[] floats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }

    static NAdamWCosineDecay optimizer(Tensor[][] params, NAdamWConfig first, NAdamWConfig second,
                                       ListVariant variant) {
        return TestTensors.optimizer(List.of(new ParamGroup(List.of(params[0]), first),
                new ParamGroup(List.of(params[1]), second)), T, variant);
    }

    /** Steps with gradients for every parameter but the group-0 bias, which so keeps no state. */
    static void run(NAdamWCosineDecay opt, Tensor[][] params, int steps) {
        for (int k = 0; k < steps; k++) {
            opt.zeroGrad();
            Random random = new Random(100 + k);
            TestTensors.setGrad(params[0][0], TestTensors.gaussian(random, 12, 1.0));
            TestTensors.setGrad(params[1][0], TestTensors.gaussian(random, 5, 1.0));
            opt.step();
        }
    }

    /** The optimizer's whole state. */
    static OptimizerState stateOf(NAdamWCosineDecay opt) {
        return opt.state();
    }

    static OptimizerState read(Path file, NAdamWCosineDecay opt) throws IOException {
        return CheckpointFiles.readPythonStateDict(file, opt.paramGroups(), opt.trainingSteps(), opt.variant(),
                opt.options().statePrecision());
    }

    static NAdamWConfig plain() {
        return OptList.config(0, ListVariant.TORCH_PORT);
    }

    static NAdamWConfig nesterovWithWarmup() {
        return OptList.config(15, ListVariant.TORCH_PORT);
    }

    /** Bits, not values: -0.0, NaN payloads and all. */
    static void assertSameBits(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.scalar_type().value, actual.scalar_type().value, what + " dtype");
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        ScalarType asInt = expected.element_size() == 8 ? ScalarType.Long : ScalarType.Int;
        assertTrue(expected.contiguous().view(asInt).equal(actual.contiguous().view(asInt)), what + " bits");
    }

    static void assertSameState(OptimizerState expected, OptimizerState actual) {
        assertEquals(expected.groups().size(), actual.groups().size());
        for (int g = 0; g < expected.groups().size(); g++) {
            OptimizerState.Group e = expected.groups().get(g);
            OptimizerState.Group a = actual.groups().get(g);
            assertEquals(e.config(), a.config());
            assertEquals(e.params().size(), a.params().size());
            for (int i = 0; i < e.params().size(); i++) {
                OptimizerState.Param ep = e.params().get(i);
                OptimizerState.Param ap = a.params().get(i);
                assertEquals(ep.step(), ap.step(), "step of " + g + "/" + i);
                assertEquals(ep.hasMoments(), ap.hasMoments());
                if (ep.hasMoments()) {
                    assertSameBits(ep.expAvg(), ap.expAvg(), "exp_avg " + g + "/" + i);
                    assertSameBits(ep.expAvgSq(), ap.expAvgSq(), "exp_avg_sq " + g + "/" + i);
                }
            }
        }
    }

    @Test
    void javaFileJavaRoundTripKeepsTheStateBitForBit() throws IOException {
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 7);
            OptimizerState state = stateOf(opt);
            Path file = dir.resolve("optim.pt");
            CheckpointFiles.writePythonStateDict(state, file);
            OptimizerState back = read(file, opt);
            assertSameState(state, back);
            assertEquals(7, back.stepCount());
            assertEquals(T, back.trainingSteps());
            assertEquals(ListVariant.TORCH_PORT, back.variant());
            assertFalse(back.groups().get(0).params().get(1).hasMoments(), "the bias never had a gradient");
        }
    }

    @Test
    void aReadStateContinuesAsTheUninterruptedRun() throws IOException {
        Tensor[][] reference = params();
        try (var opt = optimizer(reference, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, reference, 12);
        }
        Tensor[][] first = params();
        Path file = dir.resolve("optim.pt");
        try (var opt = optimizer(first, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, first, 5);
            CheckpointFiles.writePythonStateDict(stateOf(opt), file);
        }
        Tensor[][] resumed = {{first[0][0].detach().clone().set_requires_grad(true),
                first[0][1].detach().clone().set_requires_grad(true)},
                {first[1][0].detach().clone().set_requires_grad(true)}};
        try (var opt = optimizer(resumed, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            OptimizerState state = read(file, opt);
            loadInto(opt, state);
            for (int k = 5; k < 12; k++) {
                opt.zeroGrad();
                Random random = new Random(100 + k);
                TestTensors.setGrad(resumed[0][0], TestTensors.gaussian(random, 12, 1.0));
                TestTensors.setGrad(resumed[1][0], TestTensors.gaussian(random, 5, 1.0));
                opt.step();
            }
        }
        assertArrayEquals(TestTensors.values(reference[0][0]), TestTensors.values(resumed[0][0]));
        assertArrayEquals(TestTensors.values(reference[1][0]), TestTensors.values(resumed[1][0]));
    }

    static void loadInto(NAdamWCosineDecay opt, OptimizerState state) {
        for (int g = 0; g < state.groups().size(); g++) {
            for (int i = 0; i < state.groups().get(g).params().size(); i++) {
                opt.loadStateDict(opt.paramGroups().get(g).params().get(i), state.groups().get(g).params().get(i));
            }
        }
        opt.setStepCount(state.stepCount());
    }

    /** A TASKSET state whose every group warms up equally long under both variants (here: no warm-up). */
    @Test
    void aTasksetStateWithoutWarmupDifferenceCarriesItsVariant() throws IOException {
        Tensor[][] params = params();
        NAdamWConfig nesterovNoWarmup = nesterovWithWarmup().toBuilder().warmupFraction(0).build();
        try (var opt = optimizer(params, plain(), nesterovNoWarmup, ListVariant.TASKSET)) {
            run(opt, params, 3);
            Path file = dir.resolve("taskset.pt");
            CheckpointFiles.writePythonStateDict(stateOf(opt), file);
            assertSameState(stateOf(opt), read(file, opt));
            CheckpointException refused = assertThrows(CheckpointException.class,
                    () -> CheckpointFiles.readPythonStateDict(file, opt.paramGroups(), T, ListVariant.TORCH_PORT,
                            opt.options().statePrecision()));
            assertTrue(refused.getMessage().contains("running as TASKSET"), refused.getMessage());
        }
    }

    @Test
    void writeRefusesATasksetStateThePublishedBindingWouldWarmUpOtherwise() throws IOException {
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TASKSET)) {
            run(opt, params, 2);
            Path file = dir.resolve("kept.pt");
            Files.writeString(file, "previous content");
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> CheckpointFiles.writePythonStateDict(stateOf(opt), file));
            assertTrue(refused.getMessage().contains("group 1") && refused.getMessage().contains("warms up"),
                    refused.getMessage());
            assertEquals("previous content", Files.readString(file));
            try (var files = Files.list(dir)) {
                assertEquals(1, files.count(), "no temporary file left behind");
            }
        }
    }

    @Test
    void writeRefusesFloat32MasterWeights() {
        Tensor half = Tensor.create(new float[]{1, 2, 3}, 3).to(ScalarType.Half).set_requires_grad(true);
        ParamGroup group = new ParamGroup(List.of(half), plain());
        try (var opt = TestTensors.optimizer(List.of(group), T, ListVariant.TORCH_PORT,
                OptimizerOptions.DEFAULTS.withStatePrecision(StatePrecision.FLOAT32_MASTER_WEIGHTS))) {
            opt.zeroGrad();
            half.mutable_grad().put(Tensor.create(new float[]{1, -1, 0.5f}, 3).to(ScalarType.Half));
            opt.step();
            Path file = dir.resolve("never.pt");
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> CheckpointFiles.writePythonStateDict(stateOf(opt), file));
            assertTrue(refused.getMessage().contains("master"), refused.getMessage());
            assertFalse(Files.exists(file));
        }
    }

    /** What does not fit is refused, naming the file and the difference. */
    @Test
    void readRefusesWhatDoesNotFit() throws IOException {
        Tensor[][] params = params();
        Path file = dir.resolve("optim.pt");
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 3);
            CheckpointFiles.writePythonStateDict(stateOf(opt), file);
        }
        Tensor[][] same = params();
        List<ParamGroup> fits = List.of(new ParamGroup(List.of(same[0]), plain()),
                new ParamGroup(List.of(same[1]), nesterovWithWarmup()));
        assertRefused(file, List.of(fits.get(0)), T, ListVariant.TORCH_PORT, "2 parameter groups");
        assertRefused(file, List.of(new ParamGroup(List.of(same[0][0]), plain()), fits.get(1)), T,
                ListVariant.TORCH_PORT, "holds 2 parameters");
        Tensor wide = Tensor.create(new float[12], 2, 6).set_requires_grad(true);
        assertRefused(file, List.of(new ParamGroup(List.of(wide, same[0][1]), plain()), fits.get(1)), T,
                ListVariant.TORCH_PORT, "has shape [3, 4]");
        Tensor asDouble = same[0][0].detach().to(ScalarType.Double).set_requires_grad(true);
        assertRefused(file, List.of(new ParamGroup(List.of(asDouble, same[0][1]), plain()), fits.get(1)), T,
                ListVariant.TORCH_PORT, "is Float, the parameter Double");
        assertRefused(file, List.of(fits.get(0).withConfig(plain().toBuilder().learningRate(0.5).build()),
                fits.get(1)), T, ListVariant.TORCH_PORT, "'lr' is 0.0011948335721160095");
        assertRefused(file, List.of(fits.get(0),
                fits.get(1).withConfig(nesterovWithWarmup().toBuilder().nesterov(false).build())), T,
                ListVariant.TORCH_PORT, "'use_nesterov' is True");
        assertRefused(file, fits, T + 1, ListVariant.TORCH_PORT, "'training_steps' is 40");
        assertRefused(file, fits, T, ListVariant.TASKSET, "(the published binding), this optimizer runs as TASKSET");
        assertSameStateIn(file, fits);
    }

    private static void assertSameStateIn(Path file, List<ParamGroup> fits) throws IOException {
        // the refusals above changed nothing: the file still reads
        assertEquals(3, CheckpointFiles.readPythonStateDict(file, fits, T, ListVariant.TORCH_PORT,
                StatePrecision.FLOAT32).stepCount());
    }

    static void assertRefused(Path file, List<ParamGroup> groups, long steps, ListVariant variant, String part) {
        CheckpointException refused = assertThrows(CheckpointException.class,
                () -> CheckpointFiles.readPythonStateDict(file, groups, steps, variant, StatePrecision.FLOAT32));
        assertTrue(refused.getMessage().contains(file.toString()) && refused.getMessage().contains(part),
                "expected '" + part + "' in: " + refused.getMessage());
    }

    /** Files in torch.save's format that are not this binding's state_dict. */
    @Test
    @SuppressWarnings("unchecked")
    void readRefusesOtherContentOfTheRightFormat() throws IOException {
        Tensor[][] params = params();
        List<ParamGroup> groups = List.of(new ParamGroup(List.of(params[0]), plain()),
                new ParamGroup(List.of(params[1]), nesterovWithWarmup()));
        Map<String, Object> adam = validTree();
        groupOf(adam, 0).put("betas", 0.9);
        assertForeign(adam, groups, "'betas'");
        Map<String, Object> noEps = validTree();
        groupOf(noEps, 1).remove("epsilon");
        assertForeign(noEps, groups, "lacks 'epsilon'");
        Map<String, Object> tensorStep = validTree();
        paramOf(tensorStep, 0L).put("step", Tensor.create(new float[]{3}, 1));
        assertForeign(tensorStep, groups, "expected a Python int");
        Map<String, Object> extraState = validTree();
        paramOf(extraState, 0L).put("momentum_buffer", Tensor.create(new float[12], 3, 4));
        assertForeign(extraState, groups, "momentum_buffer");
        Map<String, Object> renumbered = validTree();
        groupOf(renumbered, 1).put("params", List.of(7L));
        assertForeign(renumbered, groups, "not numbered as torch numbers");
        Map<String, Object> strayIndex = validTree();
        ((Map<Long, Object>) strayIndex.get("state")).put(9L, paramOf(validTree(), 0L));
        assertForeign(strayIndex, groups, "the key 9");
        Map<String, Object> floatSteps = validTree();
        groupOf(floatSteps, 0).put("training_steps", 40.0);
        assertForeign(floatSteps, groups, "'training_steps' is 40.0");
        Map<String, Object> wrongVariant = validTree();
        groupOf(wrongVariant, 0).put(PythonStateDicts.VARIANT_KEY, "ADAM");
        assertForeign(wrongVariant, groups, "is not TASKSET or TORCH_PORT");
        assertForeign(Map.of("model", Tensor.create(new float[]{1}, 1)), groups, "not an optimizer state_dict");
        assertForeign(List.of(1L, 2L), groups, "not a dict");
    }

    /** The tree {@link PythonStateDicts} writes for {@link #params()} after 3 steps, as plain maps to edit. */
    private Map<String, Object> validTree() {
        Map<String, Object> root = new LinkedHashMap<>();
        Map<Long, Object> state = new LinkedHashMap<>();
        state.put(0L, new LinkedHashMap<>(Map.of("step", 3L, "exp_avg", Tensor.create(new float[12], 3, 4),
                "exp_avg_sq", Tensor.create(new float[12], 3, 4))));
        root.put("state", state);
        List<Object> groups = new ArrayList<>();
        groups.add(group(plain(), List.of(0L, 1L)));
        groups.add(group(nesterovWithWarmup(), List.of(2L)));
        root.put("param_groups", groups);
        return root;
    }

    private static Map<String, Object> group(NAdamWConfig c, List<Long> params) {
        Map<String, Object> group = new LinkedHashMap<>();
        group.put("lr", c.learningRate());
        group.put("beta1", c.beta1());
        group.put("beta2", c.beta2());
        group.put("epsilon", c.epsilon());
        group.put("adamw_weight_decay", c.adamwWeightDecay());
        group.put("l2_weight_decay", c.l2WeightDecay());
        group.put("use_nesterov", c.useNesterov());
        group.put("constant_fraction", c.constantFraction());
        group.put("warmup_fraction", c.warmupFraction());
        group.put("min_learning_rate_mult", c.minLearningRateMult());
        group.put("training_steps", T);
        group.put("use_bias_correction", c.useBiasCorrection());
        group.put("params", params);
        return group;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> groupOf(Map<String, Object> tree, int g) {
        return (Map<String, Object>) ((List<Object>) tree.get("param_groups")).get(g);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> paramOf(Map<String, Object> tree, long index) {
        return (Map<String, Object>) ((Map<Long, Object>) tree.get("state")).get(index);
    }

    private void assertForeign(Object tree, List<ParamGroup> groups, String part) throws IOException {
        Path file = dir.resolve("foreign.pt");
        try (var out = Files.newOutputStream(file)) {
            TorchSaveWriter.write(tree, out);
        }
        assertRefused(file, groups, T, ListVariant.TORCH_PORT, part);
    }

    @Test
    void theUneditedTreeOfTheForeignTestIsAccepted() throws IOException {
        // guards readRefusesOtherContentOfTheRightFormat against refusing for an unintended reason
        Tensor[][] params = params();
        List<ParamGroup> groups = List.of(new ParamGroup(List.of(params[0]), plain()),
                new ParamGroup(List.of(params[1]), nesterovWithWarmup()));
        Path file = dir.resolve("valid.pt");
        try (var out = Files.newOutputStream(file)) {
            TorchSaveWriter.write(validTree(), out);
        }
        OptimizerState state = CheckpointFiles.readPythonStateDict(file, groups, T, ListVariant.TORCH_PORT,
                StatePrecision.FLOAT32);
        assertEquals(3, state.groups().get(0).params().get(0).step());
        assertNull(state.groups().get(1).params().get(0).expAvg());
    }

    @Test
    void readRefusesAMissingFileAndNonTorchFiles() throws IOException {
        Tensor[][] params = params();
        List<ParamGroup> groups = List.of(new ParamGroup(List.of(params[0]), plain()),
                new ParamGroup(List.of(params[1]), nesterovWithWarmup()));
        assertThrows(NoSuchFileException.class, () -> CheckpointFiles.readPythonStateDict(dir.resolve("absent.pt"),
                groups, T, ListVariant.TORCH_PORT, StatePrecision.FLOAT32));
        Path text = dir.resolve("text.pt");
        Files.writeString(text, "not a zip at all");
        assertRefused(text, groups, T, ListVariant.TORCH_PORT, "is not a file torch.save writes");
        Path empty = dir.resolve("empty.pt");
        Files.write(empty, new byte[0]);
        assertRefused(empty, groups, T, ListVariant.TORCH_PORT, "is not a file torch.save writes");
    }

    /**
     * Damaged files, truncated at many points and with bytes overwritten, must be refused with a
     * CheckpointException, never abort the JVM: run in a child JVM so a native crash fails this test.
     */
    @Test
    void damagedFilesAreRefusedWithoutAbortingTheJvm() throws Exception {
        Tensor[][] params = params();
        Path file = dir.resolve("optim.pt");
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 3);
            CheckpointFiles.writePythonStateDict(stateOf(opt), file);
        }
        ChildProcess child = ChildProcess.java(DamagedFiles.class, file.toString(), dir.toString());
        String text = child.output();
        System.out.println(text);
        assertEquals(0, child.exitCode(), text);
        assertTrue(text.contains("damaged files: refused"), text);
    }

    /** The child JVM of {@link #damagedFilesAreRefusedWithoutAbortingTheJvm}. */
    static final class DamagedFiles {
        public static void main(String[] args) throws Exception {
            byte[] valid = Files.readAllBytes(Path.of(args[0]));
            Path damaged = Path.of(args[1], "damaged.pt");
            Tensor[][] params = params();
            List<ParamGroup> groups = List.of(new ParamGroup(List.of(params[0]), plain()),
                    new ParamGroup(List.of(params[1]), nesterovWithWarmup()));
            int refused = 0;
            int accepted = 0;
            List<byte[]> variants = new ArrayList<>();
            for (int cut = 0; cut < valid.length; cut += Math.max(1, valid.length / 97)) {
                variants.add(Arrays.copyOf(valid, cut));
            }
            Random random = new Random(3);
            for (int n = 0; n < 300; n++) {
                byte[] bytes = valid.clone();
                for (int k = 0; k < 1 + n % 4; k++) {
                    bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
                }
                variants.add(bytes);
            }
            for (byte[] bytes : variants) {
                Files.write(damaged, bytes);
                try {
                    CheckpointFiles.readPythonStateDict(damaged, groups, T, ListVariant.TORCH_PORT,
                            StatePrecision.FLOAT32);
                    accepted++; // a byte inside tensor data, which no format can tell from a valid value
                } catch (CheckpointException e) {
                    if (!e.getMessage().contains(damaged.toString())) {
                        throw new AssertionError("the message does not name the file: " + e.getMessage());
                    }
                    refused++;
                }
            }
            System.out.println("damaged files: refused " + refused + ", accepted " + accepted);
        }
    }

    /**
     * h16-pyfix's fixtures: {@code torch.save(opt.state_dict())} of the binding after 10 steps of SmallNet (8 float64
     * parameters, T = 60). Read, the state holds every parameter at step 10; written back, its tensor records hold
     * the very bytes of Python's records (compared in the zip, without pickle_load).
     */
    @Test
    void aStateDictThePythonBindingWroteReadsAndWritesBackTheSameTensorBytes() throws IOException {
        assumeTrue(Files.isDirectory(FIXTURES), "no " + FIXTURES + " (the Python fixtures of branch h16-pyfix)");
        long[][] shapes = {{4, 1, 3, 3}, {4}, {4}, {4}, {20, 144}, {20}, {3, 20}, {3}};
        for (int entry : new int[]{0, 1, 15, 18}) {
            Path file = FIXTURES.resolve("entry_" + entry).resolve("optim_k10.pt");
            List<Tensor> params = new ArrayList<>();
            for (long[] shape : shapes) {
                params.add(TestTensors.param(new double[(int) Arrays.stream(shape).reduce(1, (a, b) -> a * b)],
                        shape));
            }
            List<ParamGroup> groups = List.of(new ParamGroup(params, OptList.config(entry, ListVariant.TORCH_PORT)));
            OptimizerState state = CheckpointFiles.readPythonStateDict(file, groups, 60, ListVariant.TORCH_PORT,
                    StatePrecision.FLOAT32);
            assertEquals(10, state.stepCount());
            for (OptimizerState.Param param : state.groups().get(0).params()) {
                assertEquals(10, param.step());
                assertEquals(ScalarType.Double.value, param.expAvg().scalar_type().value);
            }
            assertRefused(file, groups, 61, ListVariant.TORCH_PORT, "'training_steps' is 60");
            Path back = dir.resolve("entry_" + entry + ".pt");
            CheckpointFiles.writePythonStateDict(state, back);
            Map<String, byte[]> python = records(file);
            Map<String, byte[]> java = records(back);
            assertEquals(16, python.size());
            assertEquals(python.keySet(), java.keySet());
            python.forEach((key, bytes) -> assertArrayEquals(bytes, java.get(key), "record data/" + key));
        }
    }

    /** The zip's {@code <prefix>/data/<key>} records by key. */
    static Map<String, byte[]> records(Path file) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (var zip = new java.util.zip.ZipFile(file.toFile())) {
            for (var entries = zip.entries(); entries.hasMoreElements(); ) {
                var entry = entries.nextElement();
                String name = entry.getName();
                int at = name.indexOf("/data/");
                if (at >= 0) {
                    try (var in = zip.getInputStream(entry)) {
                        out.put(name.substring(at + 6), in.readAllBytes());
                    }
                }
            }
        }
        return out;
    }

    /** The published layout, checked in Python: torch.load, the binding's load_state_dict, a re-save. */
    @Test
    void aJavaWrittenFileLoadsIntoTheBindingInPython() throws Exception {
        assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON + " (Debian python3-torch) to run the check with");
        Tensor[][] params = params();
        NAdamWConfig nesterovNoWarmup = nesterovWithWarmup().toBuilder().warmupFraction(0).build();
        for (ListVariant variant : ListVariant.values()) {
            try (var opt = optimizer(params, plain(), nesterovNoWarmup, variant)) {
                run(opt, params, 4);
                Path file = dir.resolve("java-" + variant + ".pt");
                Path resaved = dir.resolve("python-" + variant + ".pt");
                OptimizerState state = stateOf(opt);
                CheckpointFiles.writePythonStateDict(state, file);
                String out = python(file, resaved, variant);
                assertTrue(out.contains("accepted"), out);
                // Python's own state_dict after load_state_dict reads back as the state Java wrote
                assertSameState(state, read(resaved, opt));
            }
        }
    }

    private String python(Path file, Path resaved, ListVariant variant) throws Exception {
        Path script = dir.resolve("check.py");
        Files.writeString(script, CHECK_SCRIPT);
        ChildProcess python = ChildProcess.run(List.of(PYTHON.toString(), script.toString(), file.toString(),
                resaved.toString(), variant == ListVariant.TASKSET ? "TASKSET" : ""));
        assertEquals(0, python.exitCode(), python.output());
        return python.output();
    }

    /**
     * The binding's constructor (its signature and defaults dict, which is what load_state_dict relies on), and
     * checks of the file's layout and value types as the published state_dict has them.
     */
    static final String CHECK_SCRIPT = """
            import sys, torch
            path, resaved, variant = sys.argv[1], sys.argv[2], sys.argv[3]

            class NadamWCosineDecay(torch.optim.Optimizer):
                def __init__(self, params, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
                             adamw_weight_decay=0.0, l2_weight_decay=0.0, use_bias_correction=True,
                             use_nesterov=False, constant_fraction=1.0, warmup_fraction=0.0,
                             min_learning_rate_mult=1.0, training_steps=10000):
                    super().__init__(params, dict(lr=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
                        adamw_weight_decay=adamw_weight_decay, l2_weight_decay=l2_weight_decay,
                        use_nesterov=use_nesterov, constant_fraction=constant_fraction,
                        warmup_fraction=warmup_fraction, min_learning_rate_mult=min_learning_rate_mult,
                        training_steps=training_steps, use_bias_correction=use_bias_correction))

            sd = torch.load(path)
            assert type(sd) is dict and list(sd) == ['state', 'param_groups'], list(sd)
            keys = ['lr', 'beta1', 'beta2', 'epsilon', 'adamw_weight_decay', 'l2_weight_decay', 'use_nesterov',
                    'constant_fraction', 'warmup_fraction', 'min_learning_rate_mult', 'training_steps',
                    'use_bias_correction'] + (['opt_list_variant'] if variant else []) + ['params']
            for g in sd['param_groups']:
                assert list(g) == keys, list(g)
                for k in keys[:10]:
                    assert type(g[k]) is (bool if k == 'use_nesterov' else float), (k, type(g[k]))
                assert type(g['use_bias_correction']) is bool and type(g['training_steps']) is int
                assert all(type(i) is int for i in g['params'])
                assert g.get('opt_list_variant', '') == variant
            assert [g['params'] for g in sd['param_groups']] == [[0, 1], [2]]
            assert sorted(sd['state']) == [0, 2], sorted(sd['state'])
            for i, s in sd['state'].items():
                assert type(i) is int and list(s) == ['step', 'exp_avg', 'exp_avg_sq'], s
                assert type(s['step']) is int and s['step'] == 4
            a = torch.nn.Parameter(torch.zeros(3, 4))
            b = torch.nn.Parameter(torch.zeros(3))
            c = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
            opt = NadamWCosineDecay([{'params': [a, b]}, {'params': [c]}])
            opt.load_state_dict(sd)
            for g, saved in zip(opt.param_groups, sd['param_groups']):
                assert {k: v for k, v in g.items() if k != 'params'} == \\
                       {k: v for k, v in saved.items() if k != 'params'}
            assert torch.equal(opt.state[a]['exp_avg'], sd['state'][0]['exp_avg'])
            assert torch.equal(opt.state[c]['exp_avg_sq'], sd['state'][2]['exp_avg_sq'])
            assert opt.state[c]['exp_avg'].dtype == torch.float64 and b not in opt.state
            torch.save(opt.state_dict(), resaved)
            print('accepted')
            """;
}
