package io.github.optlist.torch;

import io.github.optlist.ChildProcess;
import io.github.optlist.ListVariant;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static io.github.optlist.torch.HostileFiles.ANY;
import static io.github.optlist.torch.HostileFiles.binInt;
import static io.github.optlist.torch.HostileFiles.concat;
import static io.github.optlist.torch.HostileFiles.indexOf;
import static io.github.optlist.torch.HostileFiles.le;
import static io.github.optlist.torch.HostileFiles.splice;
import static io.github.optlist.torch.HostileFiles.withEntry;
import static io.github.optlist.torch.HostileFiles.withPickle;
import static io.github.optlist.torch.PythonStateDictsTest.assertSameState;
import static io.github.optlist.torch.PythonStateDictsTest.nesterovWithWarmup;
import static io.github.optlist.torch.PythonStateDictsTest.optimizer;
import static io.github.optlist.torch.PythonStateDictsTest.params;
import static io.github.optlist.torch.PythonStateDictsTest.plain;
import static io.github.optlist.torch.PythonStateDictsTest.run;
import static org.bytedeco.pytorch.global.torch.empty;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files from elsewhere, crafted as a hostile sender would (issue 19): each either loads a valid state or is refused
 * with a {@link CheckpointException} naming the file, the optimizer unchanged; never a dead JVM, a hang, code from
 * the file run, or a half-changed optimizer. The cases that killed the JVM before run in a child JVM, so that a
 * regression fails the test instead of the suite.
 */
class HostileFilesTest {

    static final Path FIXTURES = Path.of("src/test/resources/hostile-files");

    @TempDir
    Path dir;

    /** A valid checkpoint and Python state dict of {@link PythonStateDictsTest#params}'s optimizer after 3 steps. */
    private record Valid(byte[] checkpoint, byte[] stateDict) {
    }

    private Valid valid() throws IOException {
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 3);
            opt.save(dir.resolve("valid.ckpt"));
            opt.savePythonStateDict(dir.resolve("valid.pt"));
        }
        return new Valid(Files.readAllBytes(dir.resolve("valid.ckpt")), Files.readAllBytes(dir.resolve("valid.pt")));
    }

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    /**
     * Loads each file with the given loader ({@code checkpoint} or {@code python}) in a child JVM; returns each
     * load's result line: {@code unchanged|changed loaded|refused <Exception> :: <message>}.
     */
    private static Map<String, String> loadInChild(Map<Path, String> loads) throws Exception {
        List<String> args = new ArrayList<>();
        loads.forEach((file, loader) -> args.add(loader + "=" + file));
        ChildProcess child = ChildProcess.java(HostileLoads.class, args.toArray(String[]::new));
        String output = child.output();
        assertEquals(0, child.exitCode(), () -> "the child JVM died (the last START names the file): " + output);
        Map<String, String> results = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            if (line.startsWith("RESULT ")) {
                System.out.println(line);
                String[] parts = line.split(" ", 4);
                results.put(parts[1] + " " + parts[2], parts[3]);
            }
        }
        for (Map.Entry<Path, String> load : loads.entrySet()) {
            assertTrue(results.containsKey(load.getKey().getFileName() + " " + load.getValue()), output);
        }
        return results;
    }

    private static void assertRefused(Map<String, String> results, String name, String loader, String... parts) {
        String result = results.get(name + " " + loader);
        assertTrue(result.startsWith("unchanged refused CheckpointException :: "), name + ": " + result);
        assertTrue(result.contains(name), name + " should be named: " + result);
        for (String part : parts) {
            assertTrue(result.contains(part), name + ": '" + result + "' should mention " + part);
        }
        assertFalse(result.contains("INTERNAL ASSERT"), result);
    }

    /** The child JVM of {@link #loadInChild}. */
    static final class HostileLoads {
        public static void main(String[] args) {
            for (String arg : args) {
                String loader = arg.substring(0, arg.indexOf('='));
                Path file = Path.of(arg.substring(arg.indexOf('=') + 1));
                System.out.println("START " + file.getFileName() + " " + loader);
                System.out.flush();
                Tensor[][] params = params();
                try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
                    run(opt, params, 2);
                    OptimizerState before = opt.state();
                    String outcome;
                    try {
                        if (loader.equals("checkpoint")) {
                            opt.load(file);
                        } else {
                            opt.loadPythonStateDict(file);
                        }
                        outcome = "loaded";
                    } catch (Exception e) {
                        outcome = "refused " + e.getClass().getSimpleName() + " :: "
                                + String.valueOf(e.getMessage()).replace('\n', ' ');
                    }
                    String same;
                    try {
                        assertSameState(before, opt.state());
                        same = "unchanged";
                    } catch (AssertionError e) {
                        same = "changed";
                    }
                    System.out.println("RESULT " + file.getFileName() + " " + loader + " " + same + " " + outcome);
                    System.out.flush();
                }
            }
        }
    }

    // --- 1. zip offsets near 2^63 --------------------------------------------------------------------------------

    /** 104 bytes, a zip64 locator pointing at 2^63 - 16, and an end record: 146 bytes that killed both loaders. */
    static byte[] zip64EndNear2To63() {
        byte[] locator = concat(le(4, 0x07064b50L, 0), le(8, Long.MAX_VALUE - 15), le(4, 1));
        byte[] end = concat(le(4, 0x06054b50L), le(2, 0, 0, 1, 1), le(4, 0xffffffffL, 0xffffffffL), le(2, 0));
        return concat(new byte[104], locator, end);
    }

    /** One central header whose zip64 extra field puts the local header at 2^63 - 8, and an end record. */
    static byte[] zip64LocalOffsetNear2To63() {
        byte[] name = "archive/data.pkl".getBytes(StandardCharsets.US_ASCII);
        byte[] extra = concat(le(2, 1, 8), le(8, Long.MAX_VALUE - 7));
        byte[] central = concat(le(4, 0x02014b50L), le(2, 45, 45, 0, 0, 0, 0), le(4, 0, 0, 0),
                le(2, name.length, extra.length, 0, 0, 0), le(4, 0, 0xffffffffL), name, extra);
        byte[] end = concat(le(4, 0x06054b50L), le(2, 0, 0, 1, 1), le(4, central.length, 0), le(2, 0));
        return concat(central, end);
    }

    @Test
    void zipOffsetsNear2To63AreRefusedNotACrash() throws Exception {
        Path end = file("zip64-end.pt", zip64EndNear2To63());
        Path local = file("zip64-local.pt", zip64LocalOffsetNear2To63());
        assertEquals(146, Files.size(end));
        Map<String, String> results = loadInChild(Map.of(end, "checkpoint", local, "python",
                file("zip64-end2.pt", zip64EndNear2To63()), "python",
                file("zip64-local2.pt", zip64LocalOffsetNear2To63()), "checkpoint"));
        assertRefused(results, "zip64-end.pt", "checkpoint", "damaged", "zip64 end record");
        assertRefused(results, "zip64-local.pt", "python", "damaged", "local header");
        assertRefused(results, "zip64-end2.pt", "python", "damaged");
        assertRefused(results, "zip64-local2.pt", "checkpoint", "damaged");
    }

    // --- 2 and 4. tensor geometry against the record ------------------------------------------------------------

    /** In the state dict's pickle, the first tensor's storage offset: {@code BINPERSID BININT1 0 MARK}. */
    private static byte[] offset(byte[] pickle, byte[] replacement) {
        int at = indexOf(pickle, 0, 'Q', 'K', 0, '(');
        return splice(pickle, at + 1, 2, replacement);
    }

    /** In the checkpoint's pickle, the first tensor's offset: {@code BINPERSID BINPUT n BININT1 0 MARK}. */
    private static byte[] checkpointOffset(byte[] pickle, byte[] replacement) {
        int at = indexOf(pickle, 0, 'Q', 'q', ANY, 'K', 0, '(');
        return splice(pickle, at + 3, 2, replacement);
    }

    /** The strides {@code (4, 1)} of the first [3, 4] tensor: {@code MARK K 4 K 1 TUPLE}. */
    private static byte[] strides(byte[] pickle, byte[] replacement) {
        int at = indexOf(pickle, 0, '(', 'K', 4, 'K', 1, 't');
        return splice(pickle, at + 1, 2, replacement);
    }

    @Test
    void tensorsReachingOutsideTheirRecordAreRefusedOnBothPaths() throws Exception {
        Valid valid = valid();
        Map<Path, String> loads = new LinkedHashMap<>();
        loads.put(file("offset-1e9.pt", withPickle(valid.stateDict(), p -> offset(p, binInt(1_000_000_000)))),
                "python");
        loads.put(file("offset-1e9.ckpt", withPickle(valid.checkpoint(),
                p -> checkpointOffset(p, binInt(1_000_000_000)))), "checkpoint");
        loads.put(file("offset-negative.pt", withPickle(valid.stateDict(), p -> offset(p, binInt(-1)))), "python");
        loads.put(file("offset-negative.ckpt", withPickle(valid.checkpoint(), p -> checkpointOffset(p, binInt(-1)))),
                "checkpoint");
        loads.put(file("stride-1e8.pt", withPickle(valid.stateDict(), p -> strides(p, binInt(100_000_000)))),
                "python");
        loads.put(file("stride-1e8.ckpt", withPickle(valid.checkpoint(), p -> strides(p, binInt(100_000_000)))),
                "checkpoint");
        loads.put(file("short-record.pt", withEntry(valid.stateDict(), "/data/0", new byte[4])), "python");
        loads.put(file("short-record.ckpt", withEntry(valid.checkpoint(), "/data/0", new byte[4])), "checkpoint");
        Map<String, String> results = loadInChild(loads);
        for (String name : List.of("offset-1e9.pt", "offset-1e9.ckpt", "stride-1e8.pt", "stride-1e8.ckpt")) {
            assertRefused(results, name, name.endsWith(".pt") ? "python" : "checkpoint", "reaches element");
        }
        assertRefused(results, "offset-negative.pt", "python", "storage offset is -1");
        assertRefused(results, "offset-negative.ckpt", "checkpoint", "storage offset is -1");
        assertRefused(results, "short-record.pt", "python", "holds 4 bytes, not 12 elements of Float");
        assertRefused(results, "short-record.ckpt", "checkpoint", "holds 4 bytes, not 12 elements of Float");
    }

    // --- 3. deep nesting -----------------------------------------------------------------------------------------

    @Test
    void thirtyThousandNestedListsAreRefusedNotACrash() throws Exception {
        Valid valid = valid();
        byte[] deep = concat(new byte[]{(byte) 0x80, 2}, HostileFiles.nestedLists(30_000), new byte[]{'.'});
        assertTrue(deep.length < 61_000);
        Map<Path, String> loads = new LinkedHashMap<>();
        loads.put(file("deep.pt", withPickle(valid.stateDict(), p -> deep)), "python");
        loads.put(file("deep.ckpt", withPickle(valid.checkpoint(), p -> deep)), "checkpoint");
        // The same inside a valid dict, as the value of the first group's 'lr'.
        byte[] lr = HostileFiles.binUnicode("lr");
        loads.put(file("deep-lr.pt", withPickle(valid.stateDict(), p -> {
            int at = indexOf(p, 0, toInts(lr)) + lr.length;
            return splice(p, at, 9, HostileFiles.nestedLists(30_000));
        })), "python");
        Map<String, String> results = loadInChild(loads);
        for (String name : List.of("deep.pt", "deep-lr.pt")) {
            // the reader's nesting limit, as docs/bad-input.md states it
            assertRefused(results, name, "python", "nests containers more than 100 deep");
        }
        assertRefused(results, "deep.ckpt", "checkpoint", "nests containers more than");
    }

    private static int[] toInts(byte[] bytes) {
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = bytes[i] & 0xff;
        }
        return out;
    }

    // --- 5. no code from the file runs ---------------------------------------------------------------------------

    /**
     * {@code setstate_loop.pt} is a TorchScript module whose {@code __setstate__} prints and then loops forever
     * (made by {@code scripts/python/make_hostile_fixtures.py}): LibTorch's reader ran it and hung. Both loaders
     * refuse it at once, naming what it is, and nothing is printed.
     */
    @Test
    void aTorchScriptModuleWithSetstateIsRefusedWithoutRunningIt() throws Exception {
        Path module = FIXTURES.resolve("setstate_loop.pt");
        Path copy = Files.copy(module, dir.resolve("setstate_loop_copy.pt"));
        ChildProcess child = ChildProcess.java(HostileLoads.class, "checkpoint=" + module, "python=" + copy);
        String output = child.output();
        assertEquals(0, child.exitCode(), output);
        assertFalse(output.contains("__setstate__ from the file ran"), output);
        assertTrue(output.contains("RESULT setstate_loop.pt checkpoint unchanged refused CheckpointException :: ")
                && output.contains("no metadata") && output.contains("__torch__.SetStateLoop"), output);
        assertTrue(output.contains("RESULT setstate_loop_copy.pt python unchanged refused CheckpointException :: ")
                && output.contains("torch.jit.save"), output);
    }

    // --- 6. tiny files, huge cost --------------------------------------------------------------------------------

    @Test
    void aDeclaredFourGigabyteStringIsRefusedBeforeAnythingIsAllocated() throws IOException {
        Valid valid = valid();
        byte[] pickle = concat(new byte[]{(byte) 0x80, 2, 'X'}, le(4, 0xfffffff0L), new byte[800]);
        Path file = file("huge-string.pt", withPickle(valid.stateDict(), p -> pickle));
        assertTrue(Files.size(file) < 2000);
        CheckpointTest.assertRefusedAndUnchanged(file, CheckpointException.class, file.toString(),
                "declares 4294967280 bytes, but only 800 follow");
    }

    @Test
    void aCompressedTensorRecordIsRefusedAndAnUnusedCompressedEntryIsNotInflated() throws IOException {
        Valid valid = valid();
        Map<String, byte[]> entries = HostileFiles.unzip(valid.stateDict());
        String record = entries.keySet().stream().filter(n -> n.endsWith("/data/0")).findFirst().orElseThrow();
        Path deflated = dir.resolve("deflated-record.pt");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(deflated))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                if (!e.getKey().equals(record)) {
                    HostileFiles.stored(entry, e.getValue());
                }
                out.putNextEntry(entry);
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        assertThrowsCheckpoint(deflated, "compressed");

        // An entry nothing reads, declaring 64 MiB of compressed bytes that are not deflate at all: loads, unread.
        Path unused = file("unused-entry.pt", HostileFiles.withGarbageDeflatedEntry(valid.stateDict(),
                "archive/extra", 64L << 20));
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            opt.loadPythonStateDict(unused);
            assertEquals(3, opt.stepCount());
        }
    }

    private void assertThrowsCheckpoint(Path file, String part) {
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> opt.loadPythonStateDict(file));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(part), e.getMessage());
        }
    }

    // --- 7. all or nothing ---------------------------------------------------------------------------------------

    @Test
    void aStateWhoseSecondGroupHasNoValuesChangesNoGroup() throws IOException {
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 2);
            OptimizerState before = opt.state();
            Tensor[][] other = params();
            OptimizerState saved;
            try (var source = optimizer(other, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
                run(source, other, 5);
                saved = source.state();
            }
            OptimizerState.Group second = saved.groups().get(1);
            Tensor meta = empty(new long[]{5}, new TensorOptions(new Device("meta")),
                    new org.bytedeco.pytorch.MemoryFormatOptional());
            OptimizerState.Group onMeta = new OptimizerState.Group(second.config(),
                    List.of(new OptimizerState.Param(5, meta, meta)));
            OptimizerState hostile = new OptimizerState(saved.trainingSteps(), saved.variant(),
                    saved.statePrecision(), saved.stepCount(), List.of(saved.groups().get(0), onMeta));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(hostile));
            assertTrue(e.getMessage().contains("no values") && e.getMessage().contains("meta"), e.getMessage());
            assertSameState(before, opt.state());
            assertEquals(2, opt.stepCount());
        }
    }

    @Test
    void aFileWhoseSecondGroupIsDamagedChangesNoGroup() throws IOException {
        Valid valid = valid();
        Map<String, byte[]> entries = HostileFiles.unzip(valid.stateDict());
        // The second group's moments are the last records; damage one so that only its CRC32 tells.
        String last = entries.keySet().stream().filter(n -> n.contains("/data/")).reduce((a, b) -> b).orElseThrow();
        byte[] bytes = valid.stateDict().clone();
        int at = (int) CheckpointIntegrityTest.dataOffset(bytes, last) + 3;
        bytes[at] ^= 0x40;
        Path file = file("second-group-damaged.pt", bytes);
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 2);
            OptimizerState before = opt.state();
            CheckpointException e = assertThrows(CheckpointException.class, () -> opt.loadPythonStateDict(file));
            assertTrue(e.getMessage().contains("CRC32") && e.getMessage().contains(last), e.getMessage());
            assertSameState(before, opt.state());
        }
    }

    // --- 8. step counts the schedule cannot compute --------------------------------------------------------------

    @Test
    void aStepCountBeyondTwoToThe53IsRefusedFromFilesAndValues() throws Exception {
        Valid valid = valid();
        byte[] step = HostileFiles.binUnicode("step");
        Map<Path, String> loads = new LinkedHashMap<>();
        loads.put(file("step-max.pt", withPickle(valid.stateDict(), p -> {
            int at = indexOf(p, 0, toInts(step)) + step.length;
            return splice(p, at, 2, HostileFiles.long1(Long.MAX_VALUE));
        })), "python");
        loads.put(file("step-max.ckpt", withPickle(valid.checkpoint(), p -> HostileFiles.replaceJson(p,
                json -> json.replace("\"stepCount\":3", "\"stepCount\":9223372036854775807")))), "checkpoint");
        loads.put(file("param-step-max.ckpt", withPickle(valid.checkpoint(), p -> HostileFiles.replaceJson(p,
                json -> json.replaceFirst("\"step\":3", "\"step\":9223372036854775807")))), "checkpoint");
        Map<String, String> results = loadInChild(loads);
        assertRefused(results, "step-max.pt", "python", "9223372036854775807", "2^53");
        assertRefused(results, "step-max.ckpt", "checkpoint", "9223372036854775807", "2^53");
        assertRefused(results, "param-step-max.ckpt", "checkpoint", "9223372036854775807");

        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            run(opt, params, 1);
            OptimizerState.Param one = opt.stateDict(params[1][0]);
            assertThrows(IllegalArgumentException.class,
                    () -> opt.loadStateDict(params[1][0], new OptimizerState.Param(Long.MAX_VALUE, one.expAvg(),
                            one.expAvgSq())));
            assertThrows(IllegalArgumentException.class, () -> opt.setStepCount(Long.MAX_VALUE));
            OptimizerState whole = opt.state();
            IllegalArgumentException state = assertThrows(IllegalArgumentException.class,
                    () -> new OptimizerState(whole.trainingSteps(), whole.variant(), whole.statePrecision(),
                            Long.MAX_VALUE, whole.groups()));
            assertEquals("stepCount must be in [0, 2^53] (CosineSchedule.MAX_STEPS), got 9223372036854775807",
                    state.getMessage());
            opt.step(); // still steps
            assertEquals(2, opt.stepCount());
        }
    }

    // --- messages that help --------------------------------------------------------------------------------------

    @Test
    void aStateDictSavedFromCudaLoadsOntoTheParametersDevice() throws IOException {
        Valid valid = valid();
        Path file = file("from-cuda.pt", withPickle(valid.stateDict(),
                p -> HostileFiles.replaceStrings(p, "cpu", "cuda:0")));
        assertTrue(new String(HostileFiles.unzip(Files.readAllBytes(file)).get("archive/data.pkl"),
                StandardCharsets.ISO_8859_1).contains("cuda:0"));
        Tensor[][] params = params();
        Tensor[][] twin = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT);
             var expected = optimizer(twin, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            opt.loadPythonStateDict(file);
            expected.loadPythonStateDict(file("from-cpu.pt", valid.stateDict()));
            assertSameState(expected.state(), opt.state());
        }
    }

    @Test
    void theWrongKindOfFileIsRefusedNamingTheMethodThatReadsIt() throws Exception {
        Valid valid = valid();
        Path checkpoint = file("a.ckpt", valid.checkpoint());
        Path stateDict = file("a.pt", valid.stateDict());
        Tensor[][] params = params();
        try (var opt = optimizer(params, plain(), nesterovWithWarmup(), ListVariant.TORCH_PORT)) {
            String toPython = assertThrows(CheckpointException.class, () -> opt.loadPythonStateDict(checkpoint))
                    .getMessage();
            assertTrue(toPython.contains(checkpoint.toString()) && toPython.contains("load(path)"), toPython);
            String toLoad = assertThrows(CheckpointException.class, () -> opt.load(stateDict)).getMessage();
            assertTrue(toLoad.contains(stateDict.toString()) && toLoad.contains("loadPythonStateDict(path)"), toLoad);
            Path legacy = FIXTURES.resolve("legacy_format.pt");
            for (String message : List.of(
                    assertThrows(CheckpointException.class, () -> opt.load(legacy)).getMessage(),
                    assertThrows(CheckpointException.class, () -> opt.loadPythonStateDict(legacy)).getMessage())) {
                assertTrue(message.contains("legacy format") && message.contains("torch.save(torch.load(f), f)"),
                        message);
            }
            for (String message : List.of(
                    assertThrows(CheckpointException.class, () -> opt.load(dir)).getMessage(),
                    assertThrows(CheckpointException.class, () -> opt.loadPythonStateDict(dir)).getMessage())) {
                assertTrue(message.contains(dir + " is a directory"), message);
            }
            Path fifo = dir.resolve("fifo");
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
            for (String message : List.of(
                    assertThrows(CheckpointException.class, () -> opt.load(fifo)).getMessage(),
                    assertThrows(CheckpointException.class, () -> opt.loadPythonStateDict(fifo)).getMessage())) {
                assertTrue(message.contains(fifo + " is not a regular file"), message);
            }
            assertEquals(0, opt.stepCount());
        }
    }

    @Test
    void malformedPicklesAreRefusedInOurWordsNotLibTorchAsserts() throws Exception {
        Valid valid = valid();
        Map<Path, String> loads = new LinkedHashMap<>();
        byte[][] pickles = {
            {(byte) 0x80, 2, 'a', '.'},                    // APPEND on an empty stack
            {(byte) 0x80, 2, '}', 'K', 1, 's', '.'},        // SETITEM without a value
            {(byte) 0x80, 2, 'h', 7, '.'},                 // a memo entry never written
            {(byte) 0x80, 2, ']', '.', 'X'},               // trailing bytes are fine, but this stops early: valid
            {(byte) 0x80, 2, 'c', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', '.'},
            {(byte) 0x80, 2, (byte) 0xff, '.'},            // an opcode pickle does not have
            {(byte) 0x80, 2, '}', '(', ']', 'K', 1, 'u', '.'}, // a list as a dict key
        };
        for (int i = 0; i < pickles.length; i++) {
            byte[] pickle = pickles[i];
            loads.put(file("malformed-" + i + ".pt", withPickle(valid.stateDict(), p -> pickle)), "python");
        }
        Map<String, String> results = loadInChild(loads);
        assertRefused(results, "malformed-0.pt", "python", "needs 1 value on the stack");
        assertRefused(results, "malformed-1.pt", "python", "needs 1 value on the stack");
        assertRefused(results, "malformed-2.pt", "python", "memo entry 7");
        assertRefused(results, "malformed-3.pt", "python", "is a list of 0, not a dict");
        assertRefused(results, "malformed-4.pt", "python", "Python global 'os.system'",
                "nothing from the file was run");
        assertRefused(results, "malformed-5.pt", "python", "opcode 0xff");
        assertRefused(results, "malformed-6.pt", "python", "a dict key is a list");
    }
}
