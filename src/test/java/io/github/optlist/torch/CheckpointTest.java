package io.github.optlist.torch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.internal.AtomicFile;
import io.github.optlist.torch.files.Checkpoints;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {

    static final long T = 12;
    static final int TOTAL_STEPS = 16; // runs past the end of the schedule

    @TempDir
    Path dir;

    /** Float32 parameters of two shapes, the same initial values for every run. */
    static Tensor[] params() {
        Random random = new Random(11);
        return new Tensor[]{
                Tensor.create(floats(random, 12), 3, 4).set_requires_grad(true),
                Tensor.create(floats(random, 5), 5).set_requires_grad(true)};
    }

    static float[] floats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }

    /** Step {@code k}'s gradients: a function of k only, so every run sees the same ones. */
    static void setGradients(Tensor[] params, int k) {
        Random random = new Random(1000 + k);
        for (Tensor p : params) {
            TestTensors.setGrad(p, TestTensors.gaussian(random, (int) p.numel(), 1.0));
        }
    }

    static void run(NAdamWCosineDecay opt, Tensor[] params, int from, int to) {
        for (int k = from; k < to; k++) {
            opt.zeroGrad();
            setGradients(params, k);
            opt.step();
        }
    }

    static NAdamWCosineDecay optimizer(Tensor[] params, NAdamWConfig config) {
        return TestTensors.optimizer(new TensorVector(params), config, T, ListVariant.TASKSET);
    }

    static Stream<NAdamWConfig> resumableKinds() {
        NAdamWConfig nesterov = OptList.configs().stream().filter(c -> c.useNesterov() && c.l2WeightDecay() > 0)
                .findFirst().orElseThrow();
        NAdamWConfig plain = OptList.configs().stream().filter(c -> !c.useNesterov() && c.adamwWeightDecay() > 0)
                .findFirst().orElseThrow();
        NAdamWConfig warmup = new NAdamWConfig("custom-warmup", 0.02, 0.9, 0.99, 1e-6, true, 0.01, 0.0, 0.5, 0.1,
                0.5, true);
        return Stream.of(nesterov, plain, warmup, warmup.toBuilder().name("custom-warmup-plain").build());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("resumableKinds")
    void resumedRunEqualsUninterruptedRunBitForBit(NAdamWConfig config) throws IOException {
        Tensor[] reference = params();
        try (var opt = optimizer(reference, config)) {
            run(opt, reference, 0, TOTAL_STEPS);
        }
        for (int interruptAt : new int[]{3, 11}) {
            Tensor[] first = params();
            Path file = dir.resolve("opt-" + interruptAt + ".ckpt");
            try (var opt = optimizer(first, config)) {
                run(opt, first, 0, interruptAt);
                opt.save(file);
            }
            Tensor[] resumed = {first[0].detach().clone().set_requires_grad(true),
                    first[1].detach().clone().set_requires_grad(true)};
            try (var opt = optimizer(resumed, config)) {
                opt.load(file);
                assertEquals(interruptAt, opt.stepCount());
                run(opt, resumed, interruptAt, TOTAL_STEPS);
            }
            for (int i = 0; i < reference.length; i++) {
                assertArrayEquals(TestTensors.values(reference[i]), TestTensors.values(resumed[i]),
                        "param " + i + " resumed at step " + interruptAt);
            }
        }
    }

    @Test
    void failureWhileWritingLeavesThePreviousFileIntactAndNoTemporaryFile() throws IOException {
        Tensor[] params = params();
        Path file = dir.resolve("opt.ckpt");
        try (var opt = optimizer(params, OptList.config(0))) {
            run(opt, params, 0, 2);
            opt.save(file);
        }
        byte[] before = Files.readAllBytes(file);
        List<AtomicFile.Content> failures = List.of(channel -> {
            channel.write(ByteBuffer.wrap(new byte[before.length / 2])); // half a file, then the write fails
            throw new IOException("simulated write failure");
        }, channel -> {
            channel.write(ByteBuffer.wrap(new byte[before.length / 2]));
            throw new IllegalStateException("simulated write failure");
        });
        for (AtomicFile.Content failing : failures) {
            IOException e = assertThrows(IOException.class,
                    () -> AtomicFile.write(file, "the optimizer", failing));
            assertTrue(e.getMessage().contains("cannot save the optimizer to " + file)
                    && e.getMessage().contains("simulated write failure"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(file));
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(file), files.toList(), "no temporary file left behind");
            }
        }
        try (var fresh = optimizer(params(), OptList.config(0))) {
            fresh.load(file);
            assertEquals(2, fresh.stepCount());
        }
    }

    @Test
    void staleTemporaryFilesOfAKilledProcessWithThisPidAreSkippedAndKept() throws IOException {
        Path file = dir.resolve("opt.ckpt");
        long next = AtomicFile.TEMPORARIES.get() + 1;
        List<Path> stale = new ArrayList<>();
        for (long n = next; n < next + 3; n++) {
            stale.add(Files.writeString(dir.resolve(AtomicFile.temporaryName(n)),
                    "left by a killed process"));
        }
        Tensor[] params = params();
        try (var opt = optimizer(params, OptList.config(0))) {
            run(opt, params, 0, 2);
            opt.save(file);
        }
        for (Path path : stale) {
            assertEquals("left by a killed process", Files.readString(path));
        }
        try (var fresh = optimizer(params(), OptList.config(0))) {
            fresh.load(file);
            assertEquals(2, fresh.stepCount());
        }
    }

    @Test
    void saveIntoAMissingFolderIsRefusedNamingThePath() throws IOException {
        Path file = dir.resolve("absent").resolve("opt.ckpt");
        Tensor[] params = params();
        try (var opt = optimizer(params, OptList.config(0))) {
            run(opt, params, 0, 2);
            IOException e = assertThrows(IOException.class, () -> opt.save(file));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("no folder"),
                    e.getMessage());
            assertEquals(2, opt.stepCount());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.toList(), "nothing written");
        }
    }

    @Test
    void nullPathIsRefused() {
        try (var opt = optimizer(params(), OptList.config(0))) {
            assertThrows(IllegalArgumentException.class, () -> opt.save(null));
            assertThrows(IllegalArgumentException.class, () -> opt.load(null));
        }
    }

    /** A refused load must leave the optimizer stepping exactly as a twin that never tried. */
    static void assertRefusedAndUnchanged(Path file, Class<? extends IOException> type, String... messageParts)
            throws IOException {
        NAdamWConfig config = OptList.config(1);
        Tensor[] params = params();
        Tensor[] twin = params();
        try (var opt = optimizer(params, config); var twinOpt = optimizer(twin, config)) {
            run(opt, params, 0, 3);
            run(twinOpt, twin, 0, 3);
            IOException e = assertThrows(type, () -> opt.load(file));
            for (String part : messageParts) {
                assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' should mention " + part);
            }
            assertEquals(3, opt.stepCount());
            run(opt, params, 3, 6);
            run(twinOpt, twin, 3, 6);
        }
        for (int i = 0; i < params.length; i++) {
            assertArrayEquals(TestTensors.values(twin[i]), TestTensors.values(params[i]));
        }
    }

    Path savedCheckpoint(Tensor[] params, NAdamWConfig config, long trainingSteps) throws IOException {
        Path file = dir.resolve("saved-" + System.nanoTime() + ".ckpt");
        try (var opt = TestTensors.optimizer(new TensorVector(params), config, trainingSteps)) {
            run(opt, params, 0, 2);
            opt.save(file);
        }
        return file;
    }

    @Test
    void missingFileIsRefused() throws IOException {
        assertRefusedAndUnchanged(dir.resolve("absent.ckpt"), NoSuchFileException.class, "absent.ckpt");
    }

    @Test
    void truncatedFileIsRefused() throws IOException {
        Path file = savedCheckpoint(params(), OptList.config(1), T);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
        assertRefusedAndUnchanged(file, CheckpointException.class, "truncated or foreign");
    }

    @Test
    void foreignFileIsRefused() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.txt"), "not a checkpoint");
        assertRefusedAndUnchanged(text, CheckpointException.class, "not a readable LibTorch archive");
    }

    @Test
    void modelArchiveIsRefusedAsNotAnOptimizerCheckpoint() throws IOException {
        Path file = dir.resolve("model.pt");
        OutputArchive archive = new OutputArchive();
        new LinearImpl(3, 4).save(archive);
        archive.save_to(file.toString());
        assertRefusedAndUnchanged(file, CheckpointException.class, "no metadata");
    }

    @Test
    void checkpointOfAnotherModelIsRefused() throws IOException {
        Tensor[] other = {Tensor.create(new float[]{1, 2, 3, 4}, 4).set_requires_grad(true),
                Tensor.create(new float[]{1, 2, 3, 4, 5}, 5).set_requires_grad(true)};
        assertRefusedAndUnchanged(savedCheckpoint(other, OptList.config(1), T), CheckpointException.class,
                "shape", "another model");
        Tensor[] fewer = {Tensor.create(new float[]{1, 2, 3, 4}, 4).set_requires_grad(true)};
        assertRefusedAndUnchanged(savedCheckpoint(fewer, OptList.config(1), T), CheckpointException.class,
                "holds 1 parameters");
    }

    @Test
    void checkpointOfAnotherDtypeIsRefused() throws IOException {
        Random random = new Random(11);
        Tensor[] doubles = {TestTensors.param(TestTensors.gaussian(random, 12, 1), 3, 4),
                TestTensors.param(TestTensors.gaussian(random, 5, 1), 5)};
        assertRefusedAndUnchanged(savedCheckpoint(doubles, OptList.config(1), T), CheckpointException.class,
                "dtype Double");
    }

    @Test
    void checkpointOfAnotherConfigOrLengthIsRefused() throws IOException {
        assertRefusedAndUnchanged(savedCheckpoint(params(), OptList.config(2), T), CheckpointException.class,
                "nadamw_grid_seed799");
        assertRefusedAndUnchanged(savedCheckpoint(params(), OptList.config(1), 99), CheckpointException.class,
                "trainingSteps 99");
    }

    @Test
    void newerFormatVersionIsRefused() throws IOException {
        int next = Checkpoints.VERSION + 1;
        Path newer = withVersion(savedCheckpoint(params(), OptList.config(1), T), next, "newer.ckpt");
        assertRefusedAndUnchanged(newer, CheckpointException.class, "version " + next, "newer");
    }

    @Test
    void aCheckpointNamingAStatePrecisionThisLibraryLacksIsRefusedNamingIt() throws IOException {
        // The format's names are the enum's: a renamed constant would leave saved files unreadable.
        assertEquals(Arrays.stream(StatePrecision.values()).map(Enum::name).collect(Collectors.toSet()),
                Checkpoints.STATE_PRECISIONS);
        Path saved = savedCheckpoint(params(), OptList.config(1), T);
        InputArchive in = new InputArchive();
        in.load_from(saved.toString());
        IValue metadata = new IValue();
        in.read("metadata", metadata);
        String json = metadata.toStringRef().getString();
        String precision = "\"statePrecision\":\"FLOAT32\"";
        assertTrue(json.contains(precision), json);
        OutputArchive out = new OutputArchive();
        out.write("metadata", new IValue(json.replace(precision, "\"statePrecision\":\"FLOAT8\"")));
        Path changed = dir.resolve("float8.ckpt");
        out.save_to(changed.toString());
        assertRefusedAndUnchanged(changed, CheckpointException.class, changed + " has unreadable metadata",
                "the state precision 'FLOAT8' is none of [FLOAT32, FLOAT32_MASTER_WEIGHTS, PARAM_DTYPE]");
    }

    @Test
    void checkpointFromBeforeTheExactVariantsIsRefusedSayingWhy() throws IOException {
        Path older = withVersion(savedCheckpoint(params(), OptList.config(1), T), 1, "older.ckpt");
        assertRefusedAndUnchanged(older, CheckpointException.class, "version 1", "Nesterov", "fresh optimizer");
    }

    @Test
    void checkpointOfAnotherVariantIsRefused() throws IOException {
        Tensor a = TestTensors.param(new double[]{1, 2, 3}, 3);
        Path saved = dir.resolve("torch-port.ckpt");
        try (NAdamWCosineDecay optimizer = TestTensors.forIdx(new TensorVector(a), 1, T,
                ListVariant.TORCH_PORT)) {
            TestTensors.setGrad(a, new double[]{0.1, -0.2, 0.3});
            optimizer.step();
            optimizer.save(saved);
        }
        try (NAdamWCosineDecay optimizer = TestTensors.forIdx(new TensorVector(a), 1, T,
                ListVariant.TASKSET)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> optimizer.load(saved));
            assertTrue(e.getMessage().contains("TORCH_PORT"), e.getMessage());
            assertEquals(0, optimizer.stepCount());
        }
    }

    static Tensor[] halfParams(ScalarType dtype) {
        Tensor[] params = params();
        for (int i = 0; i < params.length; i++) {
            params[i] = params[i].detach().to(dtype).set_requires_grad(true);
        }
        return params;
    }

    static NAdamWCosineDecay optimizer(Tensor[] params, NAdamWConfig config, StatePrecision precision) {
        return TestTensors.optimizer(List.of(ParamGroup.of(new TensorVector(params), config)), T, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS.withStatePrecision(precision));
    }

    static Stream<Arguments> precisionsAndHalfDtypes() {
        return Stream.of(StatePrecision.values()).flatMap(precision -> Stream.of(
                Arguments.of(precision, ScalarType.Half), Arguments.of(precision, ScalarType.BFloat16)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("precisionsAndHalfDtypes")
    void halfPrecisionStateResumesBitForBit(StatePrecision precision, ScalarType dtype) throws IOException {
        NAdamWConfig config = OptList.configs().stream().filter(c -> c.useNesterov() && c.l2WeightDecay() > 0)
                .findFirst().orElseThrow();
        Tensor[] reference = halfParams(dtype);
        try (var opt = optimizer(reference, config, precision)) {
            run(opt, reference, 0, TOTAL_STEPS);
        }
        Tensor[] first = halfParams(dtype);
        Path file = dir.resolve("half.ckpt");
        Tensor[] resumed = new Tensor[first.length];
        try (var opt = optimizer(first, config, precision)) {
            run(opt, first, 0, 5);
            opt.save(file);
            for (int i = 0; i < first.length; i++) {
                resumed[i] = first[i].detach().clone().set_requires_grad(true); // as the model's checkpoint
            }
        }
        try (var opt = optimizer(resumed, config, precision)) {
            opt.load(file);
            assertEquals(5, opt.stepCount());
            run(opt, resumed, 5, TOTAL_STEPS);
        }
        for (int i = 0; i < reference.length; i++) {
            assertArrayEquals(TestTensors.values(reference[i]), TestTensors.values(resumed[i]), "param " + i);
        }
    }

    @Test
    void checkpointOfAnotherStatePrecisionIsRefusedNamingIt() throws IOException {
        Tensor[] saved = halfParams(ScalarType.BFloat16);
        Path file = dir.resolve("float32-state.ckpt");
        try (var opt = optimizer(saved, OptList.config(1), StatePrecision.FLOAT32)) {
            run(opt, saved, 0, 2);
            opt.save(file);
        }
        for (StatePrecision other : new StatePrecision[]{StatePrecision.PARAM_DTYPE,
                StatePrecision.FLOAT32_MASTER_WEIGHTS}) {
            Tensor[] params = halfParams(ScalarType.BFloat16);
            try (var opt = optimizer(params, OptList.config(1), other)) {
                CheckpointException e = assertThrows(CheckpointException.class, () -> opt.load(file));
                assertTrue(e.getMessage().contains("params[0] of group 0 has its state in Float")
                        && e.getMessage().contains("state precision " + other)
                        && e.getMessage().contains(".statePrecision(StatePrecision.FLOAT32)"), e.getMessage());
                assertEquals(0, opt.stepCount());
            }
        }
        // Float32 parameters are the same under every precision, so their checkpoints load under any.
        Path plain = savedCheckpoint(params(), OptList.config(1), T);
        try (var opt = optimizer(params(), OptList.config(1), StatePrecision.PARAM_DTYPE)) {
            opt.load(plain);
            assertEquals(2, opt.stepCount());
        }
    }

    @Test
    void version2CheckpointLoadsAsStateInTheParametersDtype() throws IOException {
        Tensor[] saved = halfParams(ScalarType.Half);
        Path file = dir.resolve("current.ckpt");
        try (var opt = optimizer(saved, OptList.config(1), StatePrecision.PARAM_DTYPE)) {
            run(opt, saved, 0, 3);
            opt.save(file);
        }
        Path version2 = asVersion2(file);
        try (var opt = optimizer(halfParams(ScalarType.Half), OptList.config(1), StatePrecision.PARAM_DTYPE)) {
            opt.load(version2);
            assertEquals(3, opt.stepCount());
        }
        try (var opt = optimizer(halfParams(ScalarType.Half), OptList.config(1))) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> opt.load(version2));
            assertTrue(e.getMessage().contains(".statePrecision(StatePrecision.PARAM_DTYPE)"), e.getMessage());
        }
    }

    /** A copy of {@code saved} as format version 2 wrote it: no state precision, state dtype or master flag. */
    private Path asVersion2(Path saved) throws IOException {
        InputArchive in = new InputArchive();
        in.load_from(saved.toString());
        IValue metadata = new IValue();
        in.read("metadata", metadata);
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = (ObjectNode) mapper.readTree(metadata.toStringRef().getString());
        root.put("version", 2);
        root.remove("statePrecision");
        OutputArchive out = new OutputArchive();
        for (JsonNode group : root.path("groups")) {
            for (JsonNode param : group.path("params")) {
                ((ObjectNode) param).remove(List.of("stateDtype", "master"));
            }
        }
        for (int g = 0; g < root.path("groups").size(); g++) {
            for (int i = 0; i < root.path("groups").get(g).path("params").size(); i++) {
                for (String name : new String[]{"exp_avg", "exp_avg_sq"}) {
                    Tensor moment = new Tensor();
                    if (in.try_read("g" + g + ".p" + i + "." + name, moment)) {
                        out.write("g" + g + ".p" + i + "." + name, moment);
                    }
                }
            }
        }
        out.write("metadata", new IValue(mapper.writeValueAsString(root)));
        Path changed = dir.resolve("version2.ckpt");
        out.save_to(changed.toString());
        return changed;
    }

    /** A copy of checkpoint {@code saved} whose metadata claims format version {@code version}. */
    private Path withVersion(Path saved, int version, String name) {
        InputArchive in = new InputArchive();
        in.load_from(saved.toString());
        IValue metadata = new IValue();
        in.read("metadata", metadata);
        String json = metadata.toStringRef().getString();
        String current = "\"version\":" + Checkpoints.VERSION;
        assertTrue(json.contains(current), json);
        OutputArchive out = new OutputArchive();
        out.write("metadata", new IValue(json.replace(current, "\"version\":" + version)));
        Path changed = dir.resolve(name);
        out.save_to(changed.toString());
        return changed;
    }
}
