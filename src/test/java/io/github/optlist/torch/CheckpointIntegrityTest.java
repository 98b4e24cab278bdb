package io.github.optlist.torch;

import io.github.optlist.OptList;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint damaged after it was written (a flipped bit on disk or in transfer) is refused by load, naming the
 * file and what is damaged, and the optimizer is unchanged. LibTorch alone loads such a file silently.
 */
class CheckpointIntegrityTest {

    @TempDir
    Path dir;

    /** A checkpoint that {@link CheckpointTest#assertRefusedAndUnchanged}'s optimizer would load if undamaged. */
    private Path saved() throws IOException {
        Path file = dir.resolve("opt.ckpt");
        Tensor[] params = CheckpointTest.params();
        try (var opt = TestTensors.optimizer(new TensorVector(params), OptList.config(1), CheckpointTest.T)) {
            CheckpointTest.run(opt, params, 0, 2);
            opt.save(file);
        }
        return file;
    }

    /** Where the data of zip entry {@code name} starts, found from its local header (not the code under test). */
    static long dataOffset(byte[] zip, String name) {
        byte[] wanted = name.getBytes(StandardCharsets.UTF_8);
        for (int at = 0; at + 30 + wanted.length <= zip.length; at++) {
            if (zip[at] == 'P' && zip[at + 1] == 'K' && zip[at + 2] == 3 && zip[at + 3] == 4
                    && u16(zip, at + 26) == wanted.length
                    && Arrays.equals(Arrays.copyOfRange(zip, at + 30, at + 30 + wanted.length), wanted)) {
                return at + 30L + wanted.length + u16(zip, at + 28);
            }
        }
        throw new AssertionError("no local header for " + name);
    }

    private static int u16(byte[] bytes, int at) {
        return (bytes[at] & 0xff) | (bytes[at + 1] & 0xff) << 8;
    }

    /** The archive's entries with their sizes, as java.util.zip reads its central directory. */
    static List<ZipEntry> entries(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return new ArrayList<>(zip.stream().toList());
        }
    }

    /** A copy of {@code file} with one bit flipped in the middle of {@code entry}'s (stored) bytes. */
    private static Path withBitFlipped(Path file, String entry, long size, Path copy) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int at = (int) (dataOffset(bytes, entry) + size / 2);
        bytes[at] ^= 0x10;
        return Files.write(copy, bytes);
    }

    @Test
    void aFlippedBitInAMomentIsRefusedNamingTheFileAndEntry() throws IOException {
        Path file = saved();
        ZipEntry moment = entries(file).stream().filter(e -> e.getName().matches(".*/data/\\d+")).findFirst()
                .orElseThrow();
        Path damaged = withBitFlipped(file, moment.getName(), moment.getCompressedSize(), dir.resolve("damaged.ckpt"));

        // What the check is for: LibTorch parses the damaged file without complaint, one moment value changed.
        InputArchive original = new InputArchive();
        original.load_from(file.toString());
        InputArchive flipped = new InputArchive();
        flipped.load_from(damaged.toString());
        int differing = 0;
        for (String key : new String[]{"g0.p0.exp_avg", "g0.p0.exp_avg_sq", "g0.p1.exp_avg", "g0.p1.exp_avg_sq"}) {
            Tensor a = new Tensor();
            Tensor b = new Tensor();
            original.read(key, a);
            flipped.read(key, b);
            double[] x = TestTensors.values(a);
            double[] y = TestTensors.values(b);
            for (int i = 0; i < x.length; i++) {
                differing += Double.compare(x[i], y[i]) == 0 ? 0 : 1;
            }
        }
        assertEquals(1, differing, "LibTorch alone loads the flipped moment");

        CheckpointTest.assertRefusedAndUnchanged(damaged, CheckpointException.class, damaged.toString(),
                "damaged", "'" + moment.getName() + "'", "CRC32");
    }

    @Test
    void aFlippedBitInAnyEntryIsRefused() throws IOException {
        Path file = saved();
        List<ZipEntry> entries = entries(file);
        assertTrue(entries.size() > 6, "entries " + entries);
        assertTrue(entries.stream().anyMatch(e -> e.getMethod() == ZipEntry.DEFLATED), "a deflated entry too");
        for (ZipEntry entry : entries) {
            Path damaged = withBitFlipped(file, entry.getName(), entry.getCompressedSize(),
                    dir.resolve("damaged-" + entry.getName().replaceAll("\\W", "_") + ".ckpt"));
            // A deflated entry (LibTorch compresses its code records) may fail to inflate before its CRC32.
            CheckpointTest.assertRefusedAndUnchanged(damaged, CheckpointException.class, damaged.toString(),
                    "damaged", "'" + entry.getName() + "'",
                    entry.getMethod() == ZipEntry.STORED ? "CRC32" : "");
        }
    }

    @Test
    void aFlippedBitInTheCentralDirectoryIsRefused() throws IOException {
        Path file = saved();
        byte[] bytes = Files.readAllBytes(file);
        int central = -1;
        for (int at = bytes.length - 4; at >= 0 && central < 0; at--) {
            if (bytes[at] == 'P' && bytes[at + 1] == 'K' && bytes[at + 2] == 1 && bytes[at + 3] == 2) {
                central = at; // the last central header
            }
        }
        assertTrue(central > 0);
        byte[] lengthDamaged = bytes.clone();
        lengthDamaged[central + 28] ^= 0x04; // its name length
        CheckpointTest.assertRefusedAndUnchanged(Files.write(dir.resolve("name-length.ckpt"), lengthDamaged),
                CheckpointException.class, "damaged");
        byte[] crcDamaged = bytes.clone();
        crcDamaged[central + 16] ^= 0x01; // its CRC32
        CheckpointTest.assertRefusedAndUnchanged(Files.write(dir.resolve("crc.ckpt"), crcDamaged),
                CheckpointException.class, "damaged", "CRC32");
        byte[] offsetDamaged = bytes.clone();
        offsetDamaged[central + 42] ^= 0x01; // its local header's offset
        CheckpointTest.assertRefusedAndUnchanged(Files.write(dir.resolve("offset.ckpt"), offsetDamaged),
                CheckpointException.class, "damaged", "local header");
    }
}
