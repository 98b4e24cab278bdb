package io.github.optlist.torch.files;

import io.github.optlist.internal.NativeMemory;
import io.github.optlist.internal.Messages;
import io.github.optlist.torch.files.Pickled.PickleException;
import io.github.optlist.torch.files.Pickled.TensorRecord;
import io.github.optlist.torch.files.ZipArchive.DamagedException;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.bytedeco.pytorch.global.torch.empty;

/**
 * A file torch writes, read by one reader for both formats that trusts nothing in the file: a checkpoint (LibTorch's
 * archive of a module, {@link Checkpoints}) and a {@code torch.save} file ({@link PythonStateDicts}). The zip
 * container is read by {@link ZipArchive}, the pickle by {@link Unpickler}, so no TorchScript is deserialized and no
 * code from the file runs; a tensor's bytes are copied only when {@link #tensor} asks for them, after its geometry
 * was checked against its record. The cost of a read is the file's size once (every byte is checked against its
 * CRC32) and the memory of the tensors taken.
 *
 * <p>Every refusal is a {@link RefusedFileException} naming the file and what is wrong.
 */
final class TorchFile implements AutoCloseable {

    /** The largest pickle read: a state dict of about 100 000 parameters. */
    static final long MAX_PICKLE = 32L << 20;

    /** The first bytes of a file torch.save wrote in its legacy format (before torch 1.6): the pickled magic number. */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46,
        (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};

    private final Path path;
    private final String unreadable;
    private final ZipArchive zip;
    private final String prefix;
    private final Object root;

    private TorchFile(Path path, String unreadable, ZipArchive zip, String prefix, Object root) {
        this.path = path;
        this.unreadable = unreadable;
        this.zip = zip;
        this.prefix = prefix;
        this.root = root;
    }

    /**
     * Opens {@code path}, checks its zip structure, every entry's CRC32 but those of the tensor records (checked when
     * {@link #tensor} reads them), and unpickles its {@code data.pkl}. {@code unreadable} says in messages what the
     * file is not, e.g. {@code "is not a file torch.save writes"}.
     *
     * @throws NoSuchFileException if nothing is at {@code path}
     * @throws RefusedFileException if it is a directory or not a regular file, a legacy torch.save file, damaged,
     *                             foreign, or its pickle is refused by {@link Unpickler}
     * @throws IOException         if it cannot be read
     */
    static TorchFile open(Path path, String unreadable) throws IOException {
        requireRegularFile(path);
        ZipArchive zip;
        try {
            zip = ZipArchive.open(path);
        } catch (DamagedException e) {
            requireNotLegacy(path); // a file that is no zip archive may be torch.save's legacy format
            throw damaged(path, unreadable, e);
        }
        try {
            return read(path, unreadable, zip);
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static TorchFile read(Path path, String unreadable, ZipArchive zip) throws IOException {
        List<ZipArchive.Entry> pickles = zip.entries().stream()
                .filter(e -> e.name().endsWith("/data.pkl") && e.name().indexOf('/') == e.name().length() - 9)
                .toList();
        if (pickles.size() != 1) {
            throw new RefusedFileException(path + " " + unreadable + " (foreign?): it holds " + pickles.size()
                    + " top-level data.pkl entries, not one (" + zip + ")");
        }
        String prefix = pickles.get(0).name().substring(0, pickles.get(0).name().length() - 8);
        try {
            ZipArchive.Entry byteOrder = zip.entry(prefix + "byteorder");
            if (byteOrder != null) {
                String order = new String(zip.read(byteOrder, 16), StandardCharsets.US_ASCII);
                if (!order.equals("little")) {
                    throw new RefusedFileException(path + " was written on a '" + order + "'-endian machine; only"
                            + " little-endian files are read");
                }
            }
            byte[] pickle = zip.read(pickles.get(0), MAX_PICKLE);
            Set<String> records = new HashSet<>();
            Object root = Unpickler.load(pickle, key -> {
                ZipArchive.Entry entry = zip.entry(prefix + "data/" + key);
                if (entry == null) {
                    return -1;
                }
                records.add(entry.name());
                return entry.size();
            });
            for (ZipArchive.Entry entry : zip.entries()) {
                if (!records.contains(entry.name()) && entry != pickles.get(0)) {
                    zip.verify(entry);
                }
            }
            return new TorchFile(path, unreadable, zip, prefix, root);
        } catch (DamagedException e) {
            throw damaged(path, unreadable, e);
        } catch (PickleException e) {
            throw new RefusedFileException(path + " " + unreadable + " (foreign or damaged?): its pickle is refused: "
                    + e.getMessage() + "; nothing was loaded", e);
        }
    }

    /** What the file's {@code data.pkl} holds, as {@link Unpickler} builds it. */
    Object root() {
        return root;
    }

    /**
     * A new contiguous CPU tensor holding {@code record}'s elements, in the caller's scope, whatever device the file
     * says it was saved from (as {@code torch.load(map_location="cpu")}). Only the bytes the tensor reaches are
     * kept; its whole record is checked against its CRC32.
     *
     * @throws RefusedFileException if the record fails its CRC32
     */
    Tensor tensor(TensorRecord record) throws IOException {
        ScalarType type = ScalarType.valueOf(record.storage().dtype().scalarType);
        TensorOptions options = new TensorOptions(type);
        long elementSize = record.storage().dtype().elementSize;
        ZipArchive.Entry entry = zip.entry(prefix + "data/" + record.storage().key());
        Tensor out;
        try (PointerScope scope = new PointerScope()) {
            Tensor storage = empty(new long[]{record.span()}, options, new MemoryFormatOptional());
            if (record.span() > 0) {
                BytePointer target = new BytePointer(storage.data_ptr()).capacity(record.span() * elementSize);
                zip.copy(entry, record.offset() * elementSize, record.span() * elementSize, target);
            }
            // Geometry checked by Unpickler: the view lies within the storage; contiguous() copies only a strided one.
            out = record.numel() == 0 ? empty(record.sizes(), options, new MemoryFormatOptional())
                    : storage.as_strided(record.sizes(), record.strides()).contiguous();
            out.retainReference();
        } catch (DamagedException e) {
            throw damaged(path, unreadable, e);
        } catch (RuntimeException e) {
            throw new RefusedFileException("cannot load " + path + ": a tensor of sizes "
                    + Arrays.toString(record.sizes()) + " could not be made: " + Messages.firstLine(e), e);
        }
        return NativeMemory.toCallerScope(out);
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }

    private static RefusedFileException damaged(Path path, String unreadable, DamagedException e) {
        return new RefusedFileException(path + " " + unreadable + " (truncated or foreign?): it is damaged: "
                + e.getMessage() + "; nothing was loaded", e);
    }

    private static void requireRegularFile(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no file there");
        }
        if (Files.isDirectory(path)) {
            throw new RefusedFileException(path + " is a directory, not a file");
        }
        if (!Files.isRegularFile(path)) {
            throw new RefusedFileException(path + " is not a regular file (a FIFO, socket or device?); nothing was"
                    + " read from it");
        }
    }

    private static void requireNotLegacy(Path path) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(path)) {
            head = in.readNBytes(LEGACY_MAGIC.length);
        }
        if (Arrays.equals(head, LEGACY_MAGIC)) {
            throw new RefusedFileException(path + " was written by torch.save in its legacy format (torch before 1.6,"
                    + " or _use_new_zipfile_serialization=False), which is not read here: in Python, load it and save"
                    + " it again with torch.save(torch.load(f), f) to get the zip format");
        }
    }
}
