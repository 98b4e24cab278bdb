package io.github.optlist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptListTest {

    /** Pinned so the packaged file cannot change without this line changing with it. */
    static final String LIST_FILE_SHA256 = "ad66b9e920de3e3bf755d53480fdf56abbd9e387239b2754b6864bd18c92a722";
    /** The published opt_list.json, as its README gives it (first and last eight hex digits). */
    static final String PUBLISHED_SHA256_PREFIX = "774c4c18";
    static final String PUBLISHED_SHA256_SUFFIX = "c7702766";

    @Test
    void everyPackagedEntryEqualsThePublishedOneBitForBit() throws Exception {
        List<NAdamWConfig> published = ListConverter.readPublished(SharedList.folder());
        assertEquals(1000, published.size());
        assertEquals(published.size(), OptList.size());
        for (int i = 0; i < published.size(); i++) {
            NAdamWConfig expected = published.get(i);
            NAdamWConfig actual = OptList.config(i);
            String where = "entry " + i;
            assertEquals(expected.name(), actual.name(), where);
            assertBits(expected.learningRate(), actual.learningRate(), where + " learning_rate");
            assertBits(expected.beta1(), actual.beta1(), where + " beta1");
            assertBits(expected.beta2(), actual.beta2(), where + " beta2");
            assertBits(expected.epsilon(), actual.epsilon(), where + " epsilon");
            assertEquals(expected.useNesterov(), actual.useNesterov(), where + " use_nesterov");
            assertBits(expected.adamwWeightDecay(), actual.adamwWeightDecay(), where + " adamw_weight_decay");
            assertBits(expected.l2WeightDecay(), actual.l2WeightDecay(), where + " l2_weight_decay");
            assertBits(expected.warmupFraction(), actual.warmupFraction(), where + " warmup_fraction");
            assertBits(expected.minLearningRateMult(), actual.minLearningRateMult(), where + " min_learning_rate_mult");
            assertBits(expected.constantFraction(), actual.constantFraction(), where + " constant_fraction");
            assertTrue(actual.useBiasCorrection(), where + " bias correction");
        }
    }

    @Test
    void thePublishedSourceIsTheOneItsReadmeDescribes() throws Exception {
        String sha = sha256(Files.readAllBytes(SharedList.folder().resolve("opt_list.json")));
        assertTrue(sha.startsWith(PUBLISHED_SHA256_PREFIX) && sha.endsWith(PUBLISHED_SHA256_SUFFIX), sha);
    }

    @Test
    void committedListFileIsExactlyWhatTheConverterWrites() throws Exception {
        StringWriter regenerated = new StringWriter();
        ListFile.write(ListConverter.readPublished(SharedList.folder()), regenerated);
        String committed = Files.readString(Path.of("list/opt_list.jsonl"), StandardCharsets.UTF_8);
        assertEquals(regenerated.toString(), committed,
                "list/opt_list.jsonl is stale: run mvn -q test-compile exec:java@convert-list");
    }

    @Test
    void packagedListFileMatchesItsPinnedChecksum() throws Exception {
        try (InputStream in = ListFile.class.getResourceAsStream(ListFile.RESOURCE)) {
            assertEquals(LIST_FILE_SHA256, sha256(in.readAllBytes()));
        }
    }

    @Test
    void firstEntryIsSeed251AsPublished() {
        assertEquals("nadamw_grid_seed251", OptList.config(0).name());
        assertEquals(0.0011948335721160095, OptList.config(0).learningRate());
        assertFalse(OptList.config(0).useNesterov());
    }

    @Test
    void everyEntryIsFoundByItsName() {
        for (int i = 0; i < OptList.size(); i++) {
            assertEquals(i, OptList.indexOf(OptList.config(i).name()));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> OptList.indexOf("adam"));
        assertTrue(e.getMessage().contains("adam"));
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 1000, Integer.MIN_VALUE, Integer.MAX_VALUE})
    void indexOutsideTheListIsRefusedWithTheRange(int idx) {
        var e = assertThrows(IllegalArgumentException.class, () -> OptList.config(idx));
        assertTrue(e.getMessage().contains("[0, 1000)") && e.getMessage().contains(String.valueOf(idx)),
                e.getMessage());
    }

    @Test
    void listFileWithAnUnknownKeyIsRefused() {
        String line = assertDoesNotThrow(OptListTest::firstLine).replace("\"beta1\"", "\"beta_one\"");
        var e = assertThrows(IllegalArgumentException.class, () -> read(line));
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
    }

    @Test
    void listFileWithAMissingKeyIsRefused() {
        String line = assertDoesNotThrow(OptListTest::firstLine).replaceFirst(",\"epsilon\":[^,]*", "");
        assertThrows(IllegalArgumentException.class, () -> read(line));
    }

    @Test
    void listFileWithIndicesOutOfSequenceIsRefused() {
        String line = assertDoesNotThrow(OptListTest::firstLine).replace("\"index\":0", "\"index\":1");
        var e = assertThrows(IllegalArgumentException.class, () -> read(line));
        assertTrue(e.getMessage().contains("index 1 out of sequence"), e.getMessage());
    }

    @Test
    void listFileWithAnOutOfRangeValueIsRefused() {
        String line = assertDoesNotThrow(OptListTest::firstLine).replaceFirst("\"beta2\":[^,]*", "\"beta2\":1.5");
        var e = assertThrows(IllegalArgumentException.class, () -> read(line));
        assertTrue(e.getMessage().contains("beta2"), e.getMessage());
    }

    @Test
    void writtenListReadsBackEqual() throws Exception {
        StringWriter out = new StringWriter();
        ListFile.write(OptList.configs(), out);
        assertEquals(OptList.configs(), ListFile.read(new BufferedReader(new StringReader(out.toString()))));
    }

    private static String firstLine() throws Exception {
        StringWriter out = new StringWriter();
        ListFile.write(List.of(OptList.config(0)), out);
        return out.toString().strip();
    }

    private static List<NAdamWConfig> read(String text) throws Exception {
        return ListFile.read(new BufferedReader(new StringReader(text)));
    }

    private static void assertBits(double expected, double actual, String what) {
        assertEquals(Double.doubleToRawLongBits(expected), Double.doubleToRawLongBits(actual),
                () -> what + ": expected " + expected + " got " + actual);
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
