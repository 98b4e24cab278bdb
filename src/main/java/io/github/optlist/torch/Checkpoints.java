package io.github.optlist.torch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.optlist.ListVariant;
import io.github.optlist.Messages;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ArchiveWriter;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The checkpoint file of a {@link NAdamWCosineDecay}: one LibTorch archive holding the moments of every
 * parameter that has state, under {@code g<group>.p<index>.exp_avg} and {@code .exp_avg_sq} (and its float32
 * master copy under {@code .master}, if it has one), and a JSON document (written by Jackson) under
 * {@code metadata}: the format name and version, the training length, the schedule variant, the state precision,
 * the optimizer's step count, and per group its configuration and per parameter its shape, dtype, state dtype,
 * whether it has a master copy, and step count.
 */
final class Checkpoints {

    static final String FORMAT = "opt-list/NAdamWCosineDecay";
    /**
     * 3 since half-precision parameters may keep float32 state ({@link StatePrecision}): the metadata names the
     * state precision and each parameter's state dtype, and the archive may hold master copies. Version 2 files
     * load as what they hold, state in the parameters' dtype ({@link StatePrecision#PARAM_DTYPE}). 2 since the list
     * variants became exact: a version 1 checkpoint was written when {@code TASKSET} still applied the entries'
     * Nesterov flag, so its moments came from another update.
     */
    static final int VERSION = 3;
    /** The oldest version this library reads. */
    static final int OLDEST_READABLE_VERSION = 2;
    private static final String METADATA_KEY = "metadata";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    record Metadata(String format, int version, long trainingSteps, ListVariant variant,
                    StatePrecision statePrecision, long stepCount, List<GroupMetadata> groups) {
    }

    record GroupMetadata(NAdamWConfig config, List<ParamMetadata> params) {
    }

    record ParamMetadata(long[] shape, String dtype, String stateDtype, boolean master, long step,
                         boolean hasState) {
    }

    /**
     * What a validated checkpoint restores: per group, per parameter, its step and its moments followed by its master
     * copy if it has one (null when it has no state).
     */
    private record Restored(long stepCount, List<List<ParamMetadata>> params, List<List<Tensor[]>> moments) {
    }

    private Checkpoints() {
    }

    /**
     * Writes the checkpoint with {@link #writeAtomically}. LibTorch serializes the archive into a Java callback
     * ({@link ChannelWriter}) rather than into a file of its own: a write it sees fail aborts the JVM (its stream
     * writer rethrows from a destructor), while a failed Java write is an {@link IOException} here.
     */
    static void save(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Path path) throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            OutputArchive archive = new OutputArchive();
            List<GroupMetadata> groups = new ArrayList<>();
            for (int g = 0; g < states.size(); g++) {
                List<ParamMetadata> params = new ArrayList<>();
                for (int i = 0; i < states.get(g).size(); i++) {
                    ParamState state = states.get(g).get(i);
                    int dtype = state.param.scalar_type().value;
                    int stateDtype = state.initialized() ? state.stateDtype
                            : ParamState.stateDtypeFor(dtype, optimizer.statePrecision());
                    params.add(new ParamMetadata(state.param.shape(), state.param.scalar_type().toString(),
                            ScalarTypes.of(stateDtype).toString(), state.master != null, state.step,
                            state.initialized()));
                    if (state.initialized()) {
                        archive.write(key(g, i, "exp_avg"), state.expAvg);
                        archive.write(key(g, i, "exp_avg_sq"), state.expAvgSq);
                        if (state.master != null) {
                            archive.write(key(g, i, "master"), state.master);
                        }
                    }
                }
                groups.add(new GroupMetadata(optimizer.paramGroups().get(g).config(), params));
            }
            Metadata metadata = new Metadata(FORMAT, VERSION, optimizer.trainingSteps(), optimizer.variant(),
                    optimizer.statePrecision(), optimizer.stepCount(), groups);
            archive.write(METADATA_KEY, new IValue(MAPPER.writeValueAsString(metadata)));
            writeAtomically(path, "the optimizer", channel -> ChannelWriter.save(archive, channel));
        } catch (RuntimeException e) {
            throw new IOException("cannot save the optimizer to " + path + ": " + Messages.firstLine(e)
                    + "; the previous file, if any, is unchanged", e);
        }
    }

    /** What {@link #writeAtomically} writes: the whole content, from the start of an empty file. */
    @FunctionalInterface
    interface Content {
        void writeTo(FileChannel channel) throws IOException;
    }

    /** Numbers this process's temporary files (package-private for a test). */
    static final AtomicLong TEMPORARIES = new AtomicLong();

    /**
     * Replaces {@code target} with {@code content}, so that {@code target} always holds either its previous bytes
     * or all of the new ones, even across a crash or a power failure: writes a new temporary file beside it
     * ({@code <name>.tmp<pid>-<n>}, same folder, hence same file system), flushes it to the device, renames it
     * atomically over {@code target}, and flushes the folder so the rename itself is durable.
     *
     * <p>If anything fails before the rename (no such folder, read-only folder, full disk, quota, {@code content}
     * throwing), {@code target} is left byte for byte as it was and the temporary file is deleted; the
     * {@link IOException} names {@code target} and the cause. Only a failure to flush the folder after the rename
     * is reported with the new file already in place, and says so. A process killed mid-write leaves its temporary
     * file behind, never a damaged {@code target}.
     *
     * @param what what is written, for the messages ("the optimizer")
     */
    static void writeAtomically(Path target, String what, Content content) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path folder = absolute.getParent();
        String failed = "cannot save " + what + " to " + target + ": ";
        FileChannel folderChannel = openFolder(folder, failed);
        try {
            Path temporary = null;
            try {
                for (int attempt = 0; temporary == null; attempt++) {
                    Path candidate = absolute.resolveSibling(absolute.getFileName() + ".tmp"
                            + ProcessHandle.current().pid() + "-" + TEMPORARIES.incrementAndGet());
                    try {
                        temporary = Files.createFile(candidate);
                    } catch (FileAlreadyExistsException stale) {
                        // Left by a killed process that had this pid (containers reuse them): not ours to delete.
                        if (attempt == 100) {
                            throw stale;
                        }
                    }
                }
                try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                    content.writeTo(channel);
                    channel.force(true);
                }
                Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException | RuntimeException e) {
                IOException failure = new IOException(failed + cause(e, folder)
                        + "; the previous file, if any, is unchanged", e);
                try {
                    if (temporary != null) {
                        Files.deleteIfExists(temporary);
                    }
                } catch (IOException deleting) {
                    failure.addSuppressed(deleting);
                }
                throw failure;
            }
            if (folderChannel != null) {
                try {
                    folderChannel.force(true);
                } catch (IOException e) {
                    throw new IOException("saved " + what + " to " + target + ", but flushing its folder failed ("
                            + cause(e, folder) + "): the new file is in place but may not survive a power failure",
                            e);
                }
            }
        } finally {
            if (folderChannel != null) {
                folderChannel.close();
            }
        }
    }

    /**
     * Opened before writing, so that a folder that cannot be flushed is refused while nothing has changed; null on
     * Windows, which neither opens nor needs to flush folders (its renames are journaled by NTFS).
     */
    private static FileChannel openFolder(Path folder, String failed) throws IOException {
        if (File.separatorChar == '\\') {
            return null;
        }
        try {
            return FileChannel.open(folder, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new IOException(failed + cause(e, folder) + "; nothing was written", e);
        }
    }

    /** The reason of a file-system failure without the temporary file's name, which the user never asked for. */
    private static String cause(Throwable e, Path folder) {
        if (e instanceof NoSuchFileException) {
            return "no folder " + folder;
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied in " + folder;
        }
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        return Messages.firstLine(e);
    }

    /**
     * LibTorch's archive writer as a callback into Java: the bytes go to the file channel of the calling thread's
     * {@link #save}. The callback never reports a failure to LibTorch (that would abort the JVM, see
     * {@link Checkpoints#save}): it keeps the first one, drops the rest of the bytes, and {@link #save} throws it
     * once LibTorch returns. One instance for the whole JVM, since JavaCPP allows only a few callbacks at a time.
     */
    private static final class ChannelWriter extends ArchiveWriter {

        private static final long CHUNK = 1L << 30;
        private static final ThreadLocal<Sink> SINK = new ThreadLocal<>();
        private static final ChannelWriter INSTANCE = NativeMemory.outliveScope(new ChannelWriter());

        private static final class Sink {
            final FileChannel channel;
            Throwable failure;

            Sink(FileChannel channel) {
                this.channel = channel;
            }
        }

        static void save(OutputArchive archive, FileChannel channel) throws IOException {
            Sink sink = new Sink(channel);
            SINK.set(sink);
            try {
                archive.save_to(INSTANCE);
            } finally {
                SINK.remove();
            }
            if (sink.failure instanceof IOException e) {
                throw e;
            }
            if (sink.failure != null) {
                throw new IOException(Messages.firstLine(sink.failure), sink.failure);
            }
        }

        @Override
        public long call(Pointer buffer, long size) {
            Sink sink = SINK.get();
            if (sink != null && sink.failure == null) {
                try {
                    write(sink.channel, buffer, size);
                } catch (Throwable e) {
                    sink.failure = e;
                }
            }
            return size;
        }

        private static void write(FileChannel channel, Pointer buffer, long size) throws IOException {
            if (buffer == null || buffer.isNull()) {
                // LibTorch's "skip ahead" (a record written as metadata only): zeros in a fresh file.
                ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(size, 1 << 16));
                for (long left = size; left > 0; left -= zeros.limit()) {
                    zeros.clear().limit((int) Math.min(left, zeros.capacity()));
                    while (zeros.hasRemaining()) {
                        channel.write(zeros);
                    }
                }
                return;
            }
            BytePointer bytes = new BytePointer(buffer).capacity(size);
            for (long from = 0; from < size; from += CHUNK) {
                ByteBuffer chunk = VerifiedZip.slice(bytes, from, Math.min(size, from + CHUNK));
                while (chunk.hasRemaining()) {
                    channel.write(chunk);
                }
            }
        }
    }

    static void load(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Path path) throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(path.toString(), null, "no checkpoint file there");
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Restored restored = readAndValidate(optimizer, states, path);
            apply(optimizer, states, restored);
        }
    }

    private static Restored readAndValidate(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Path path)
            throws IOException {
        InputArchive archive = new InputArchive();
        BytePointer bytes = VerifiedZip.read(path);
        try {
            archive.load_from(bytes, bytes.capacity(), new DeviceOptional(new Device("cpu")));
        } catch (RuntimeException e) {
            throw new CheckpointException(path + " is not a readable LibTorch archive (truncated or foreign?): "
                    + Messages.firstLine(e), e);
        } finally {
            bytes.close(); // LibTorch copied what it parsed
        }
        IValue text = new IValue();
        if (!archive.try_read(METADATA_KEY, text) || !text.isString()) {
            throw new CheckpointException(path + " is not an opt-list optimizer checkpoint: it has no metadata");
        }
        Metadata metadata;
        try {
            JsonNode tree = MAPPER.readTree(text.toStringRef().getString());
            String format = tree.path("format").asText();
            int version = tree.path("version").asInt(-1);
            if (!FORMAT.equals(format)) {
                throw new CheckpointException(path + " holds format '" + format + "', expected '" + FORMAT + "'");
            }
            if (version > VERSION) {
                throw new CheckpointException(path + " has format version " + version
                        + ", newer than this library's " + VERSION + "; upgrade opt-list to load it");
            }
            if (version < OLDEST_READABLE_VERSION) {
                throw new CheckpointException(path + " has format version " + version + ", written before the list"
                        + " variants were made exact (TASKSET then applied the entries' Nesterov flag, which the"
                        + " ranked list never did), so its moments come from another update; restart training"
                        + " from the model's weights with a fresh optimizer");
            }
            if (version == 2) {
                asVersion3(tree);
            }
            metadata = MAPPER.treeToValue(tree, Metadata.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new CheckpointException(path + " has unreadable metadata: " + e.getMessage(), e);
        }
        require(metadata.trainingSteps() == optimizer.trainingSteps(), path,
                "the checkpoint was saved with trainingSteps " + metadata.trainingSteps()
                        + ", this optimizer has " + optimizer.trainingSteps());
        require(metadata.variant() == optimizer.variant(), path, "the checkpoint was saved with list variant "
                + metadata.variant() + ", this optimizer has " + optimizer.variant());
        require(metadata.groups() != null && metadata.groups().size() == states.size(), path, "the checkpoint holds "
                + (metadata.groups() == null ? 0 : metadata.groups().size()) + " parameter groups, this optimizer "
                + states.size() + " (another model?)");
        List<List<ParamMetadata>> params = new ArrayList<>();
        List<List<Tensor[]>> moments = new ArrayList<>();
        for (int g = 0; g < states.size(); g++) {
            GroupMetadata group = metadata.groups().get(g);
            NAdamWConfig config = optimizer.paramGroups().get(g).config();
            require(config.equals(group.config()), path, "group " + g + " of the checkpoint has config "
                    + group.config() + ", this optimizer has " + config);
            require(group.params().size() == states.get(g).size(), path, "group " + g + " of the checkpoint holds "
                    + group.params().size() + " parameters, this optimizer " + states.get(g).size()
                    + " (another model?)");
            List<Tensor[]> groupMoments = new ArrayList<>();
            for (int i = 0; i < group.params().size(); i++) {
                ParamMetadata saved = group.params().get(i);
                Tensor param = states.get(g).get(i).param;
                String where = states.get(g).get(i).position;
                require(Arrays.equals(saved.shape(), param.shape()), path, where + " has shape "
                        + Arrays.toString(saved.shape()) + " in the checkpoint, " + Arrays.toString(param.shape())
                        + " here (another model?)");
                require(saved.dtype().equals(param.scalar_type().toString()), path, where + " has dtype "
                        + saved.dtype() + " in the checkpoint, " + param.scalar_type() + " here");
                require(saved.step() >= 0 && saved.hasState() == (saved.step() > 0), path, where
                        + " has an inconsistent step count in the checkpoint: " + saved.step());
                if (saved.hasState()) {
                    requireSamePrecision(saved, metadata.statePrecision(), optimizer.statePrecision(), param, path,
                            where);
                }
                groupMoments.add(saved.hasState() ? readMoments(archive, path, g, i, param, saved) : null);
            }
            params.add(group.params());
            moments.add(groupMoments);
        }
        return new Restored(metadata.stepCount(), params, moments);
    }

    /**
     * A LibTorch archive (a zip file) read whole into native memory and checked before LibTorch parses it: its
     * structure (end of central directory, zip64 records, every central and local header within the file and
     * agreeing on the entry's name) and every entry's CRC32. LibTorch itself skips the CRC check (its miniz is built
     * with {@code MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS}), so a flipped bit in a moment would load silently. The
     * bytes checked are the bytes LibTorch then parses: the file is read once.
     */
    static final class VerifiedZip {

        private static final long LOCAL_HEADER = 0x04034b50L;
        private static final long CENTRAL_HEADER = 0x02014b50L;
        private static final long END = 0x06054b50L;
        private static final long ZIP64_END = 0x06064b50L;
        private static final long ZIP64_LOCATOR = 0x07064b50L;
        private static final long MAX_32 = 0xffffffffL;
        private static final int CHUNK = 1 << 30;

        private final Path path;
        private final BytePointer bytes;
        private final long size;

        private VerifiedZip(Path path, BytePointer bytes) {
            this.path = path;
            this.bytes = bytes;
            this.size = bytes.capacity();
        }

        /**
         * The file's bytes, verified; the caller frees them.
         *
         * @throws CheckpointException if the file is not a zip archive, is truncated, or any entry fails its CRC32
         * @throws IOException         if the file cannot be read
         */
        static BytePointer read(Path path) throws IOException {
            BytePointer bytes;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = channel.size();
                if (size < 22) {
                    throw new CheckpointException(path + " is not a readable LibTorch archive (truncated or foreign?): "
                            + size + " bytes, too short for a zip archive");
                }
                bytes = new BytePointer(size);
                try {
                    for (long from = 0; from < size; from += CHUNK) {
                        ByteBuffer chunk = slice(bytes, from, Math.min(size, from + CHUNK));
                        while (chunk.hasRemaining()) {
                            if (channel.read(chunk) < 0) {
                                throw new CheckpointException(path + " shrank while being read");
                            }
                        }
                    }
                    new VerifiedZip(path, bytes).verify();
                } catch (IOException | RuntimeException e) {
                    bytes.close();
                    throw e;
                }
            }
            return bytes;
        }

        private void verify() throws CheckpointException {
            long end = findEnd();
            long entries = u16(end + 10);
            long directorySize = u32(end + 12);
            long directory = u32(end + 16);
            long directoryEnd = end;
            if (end >= 20 && u32(end - 20) == ZIP64_LOCATOR) {
                long zip64End = u64(end - 20 + 8);
                structure(zip64End >= 0 && zip64End + 56 <= end - 20 && u32(zip64End) == ZIP64_END,
                        "its zip64 end record is missing");
                entries = u64(zip64End + 32);
                directorySize = u64(zip64End + 40);
                directory = u64(zip64End + 48);
                directoryEnd = zip64End;
            }
            structure(directory >= 0 && directorySize >= 0 && directory + directorySize <= directoryEnd,
                    "its central directory lies outside the file");
            long at = directory;
            for (long n = 0; n < entries; n++) {
                structure(at + 46 <= directory + directorySize && u32(at) == CENTRAL_HEADER,
                        "its central directory is cut short after " + n + " of " + entries + " entries");
                at = verifyEntry(at, directory, directory + directorySize);
            }
            structure(at == directory + directorySize, "its central directory holds more than " + entries
                    + " entries");
        }

        /** Checks the entry whose central header is at {@code at}; returns where the next header starts. */
        private long verifyEntry(long at, long directory, long directoryEnd) throws CheckpointException {
            int method = u16(at + 10);
            long crc = u32(at + 16);
            long compressed = u32(at + 20);
            long uncompressed = u32(at + 24);
            int nameLength = u16(at + 28);
            int extraLength = u16(at + 30);
            int commentLength = u16(at + 32);
            long local = u32(at + 42);
            long next = at + 46 + nameLength + extraLength + commentLength;
            structure(next <= directoryEnd, "its central directory is cut short");
            String name = string(at + 46, nameLength);
            long extraEnd = at + 46 + nameLength + extraLength;
            for (long x = at + 46 + nameLength; x + 4 <= extraEnd; ) {
                int id = u16(x);
                long fieldsEnd = x + 4 + u16(x + 2);
                structure(fieldsEnd <= extraEnd, "entry '" + name + "' has a cut extra field");
                if (id == 1) { // zip64: the 64-bit values of the fields that hold 0xffffffff, in this order
                    long field = x + 4;
                    if (uncompressed == MAX_32) {
                        structure(field + 8 <= fieldsEnd, "entry '" + name + "' has a cut zip64 field");
                        uncompressed = u64(field);
                        field += 8;
                    }
                    if (compressed == MAX_32) {
                        structure(field + 8 <= fieldsEnd, "entry '" + name + "' has a cut zip64 field");
                        compressed = u64(field);
                        field += 8;
                    }
                    if (local == MAX_32) {
                        structure(field + 8 <= fieldsEnd, "entry '" + name + "' has a cut zip64 field");
                        local = u64(field);
                    }
                }
                x = fieldsEnd;
            }
            structure(local >= 0 && local + 30 <= directory && u32(local) == LOCAL_HEADER,
                    "entry '" + name + "' has no local header where the central directory says");
            int localNameLength = u16(local + 26);
            long data = local + 30 + localNameLength + u16(local + 28);
            structure(name.equals(string(local + 30, Math.min(localNameLength, (int) (directory - local - 30)))),
                    "entry '" + name + "' has another name in its local header");
            structure(compressed >= 0 && data + compressed <= directory, "entry '" + name
                    + "' runs past the end of its data");
            long actual = switch (method) {
                case 0 -> {
                    structure(compressed == uncompressed, "entry '" + name + "' has inconsistent sizes");
                    yield crc(data, compressed);
                }
                case 8 -> inflatedCrc(name, data, compressed, uncompressed);
                default -> throw damaged("entry '" + name + "' uses zip compression method " + method
                        + ", which LibTorch does not write");
            };
            if (actual != crc) {
                throw damaged("entry '" + name + "' fails its CRC32 check (the archive records "
                        + Long.toHexString(crc) + ", its bytes give " + Long.toHexString(actual) + ")");
            }
            return next;
        }

        private long findEnd() throws CheckpointException {
            for (long at = size - 22; at >= Math.max(0, size - 22 - 0xffff); at--) {
                if (u32(at) == END && at + 22 + u16(at + 20) == size) {
                    return at;
                }
            }
            throw new CheckpointException(path + " is not a readable LibTorch archive (truncated or foreign?):"
                    + " it has no zip end of central directory");
        }

        private long crc(long from, long length) {
            CRC32 crc = new CRC32();
            for (long at = from; at < from + length; at += CHUNK) {
                crc.update(slice(bytes, at, Math.min(from + length, at + CHUNK)));
            }
            return crc.getValue();
        }

        private long inflatedCrc(String name, long from, long length, long expected) throws CheckpointException {
            CRC32 crc = new CRC32();
            Inflater inflater = new Inflater(true);
            byte[] out = new byte[1 << 16];
            long total = 0;
            try {
                for (long at = from; at < from + length; at += CHUNK) {
                    inflater.setInput(slice(bytes, at, Math.min(from + length, at + CHUNK)));
                    while (!inflater.needsInput() && !inflater.finished()) {
                        int n = inflater.inflate(out);
                        crc.update(out, 0, n);
                        total += n;
                    }
                }
            } catch (DataFormatException e) {
                throw damaged("entry '" + name + "' does not inflate: " + e.getMessage());
            } finally {
                inflater.end();
            }
            structure(total == expected, "entry '" + name + "' inflates to " + total + " bytes, not " + expected);
            return crc.getValue();
        }

        private void structure(boolean condition, String problem) throws CheckpointException {
            if (!condition) {
                throw damaged(problem);
            }
        }

        private CheckpointException damaged(String problem) {
            return new CheckpointException(path + " is not a readable LibTorch archive (truncated or foreign?):"
                    + " it is damaged: " + problem + "; nothing was loaded");
        }

        private String string(long at, int length) {
            byte[] name = new byte[Math.max(0, length)];
            slice(bytes, at, at + name.length).get(name);
            return new String(name, StandardCharsets.UTF_8);
        }

        private int u16(long at) {
            return (bytes.get(at) & 0xff) | (bytes.get(at + 1) & 0xff) << 8;
        }

        private long u32(long at) {
            return u16(at) | (long) u16(at + 2) << 16;
        }

        /** A view of {@code bytes[from, to)}, {@code to - from} at most {@link #CHUNK}. */
        static ByteBuffer slice(BytePointer bytes, long from, long to) {
            return new BytePointer(bytes).position(from).limit(to).asByteBuffer();
        }

        /** Negative for values past 2^63, which the callers' bounds checks refuse. */
        private long u64(long at) {
            return u32(at) | u32(at + 4) << 32;
        }
    }

    /**
     * Refuses state kept in another dtype, or with or without a master copy, than this optimizer keeps for the
     * parameter: state is not converted from one precision to another.
     */
    private static void requireSamePrecision(ParamMetadata saved, StatePrecision savedPrecision,
                                             StatePrecision precision, Tensor param, Path path, String where)
            throws CheckpointException {
        int dtype = param.scalar_type().value;
        String stateDtype = ScalarTypes.of(ParamState.stateDtypeFor(dtype, precision)).toString();
        boolean master = precision == StatePrecision.FLOAT32_MASTER_WEIGHTS && ParamState.isHalf(dtype);
        require(saved.stateDtype().equals(stateDtype) && saved.master() == master, path, where
                + " has its state in " + saved.stateDtype() + (saved.master() ? " with a float32 master copy" : "")
                + " in the checkpoint (state precision " + savedPrecision + "), in " + stateDtype
                + (master ? " with a float32 master copy" : "") + " here (state precision " + precision
                + "); call setStatePrecision(StatePrecision." + savedPrecision + ") before load to resume it");
    }

    private static Tensor[] readMoments(InputArchive archive, Path path, int g, int i, Tensor param,
                                        ParamMetadata saved) throws CheckpointException {
        List<String> names = saved.master() ? List.of("exp_avg", "exp_avg_sq", "master")
                : List.of("exp_avg", "exp_avg_sq");
        Tensor[] tensors = new Tensor[names.size()];
        for (int n = 0; n < names.size(); n++) {
            String name = key(g, i, names.get(n));
            Tensor tensor = new Tensor();
            require(archive.try_read(name, tensor) && tensor.defined(), path,
                    "the checkpoint lacks the tensor " + name);
            String dtype = n < 2 ? saved.stateDtype() : "Float";
            require(Arrays.equals(tensor.shape(), param.shape()) && tensor.scalar_type().toString().equals(dtype),
                    path, "the checkpoint's " + name + " does not match its parameter's shape and state dtype");
            tensors[n] = tensor;
        }
        return tensors;
    }

    /**
     * Fills in what a version 2 document lacks: its state was in the parameters' dtype, without master copies.
     */
    private static void asVersion3(JsonNode tree) {
        if (tree instanceof ObjectNode root) {
            root.put("statePrecision", StatePrecision.PARAM_DTYPE.name());
            for (JsonNode group : tree.path("groups")) {
                for (JsonNode param : group.path("params")) {
                    if (param instanceof ObjectNode node) {
                        node.set("stateDtype", node.get("dtype"));
                        node.put("master", false);
                    }
                }
            }
        }
    }

    /** Runs only after every check passed, so a refused checkpoint leaves the optimizer as it was. */
    private static void apply(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Restored restored) {
        for (int g = 0; g < states.size(); g++) {
            for (int i = 0; i < states.get(g).size(); i++) {
                ParamState state = states.get(g).get(i);
                Tensor[] moments = restored.moments().get(g).get(i);
                if (moments == null) {
                    state.release();
                } else {
                    if (!state.initialized()) {
                        state.initialize(optimizer.statePrecision());
                    } else {
                        state.follow();
                    }
                    state.expAvg.copy_(moments[0]);
                    state.expAvgSq.copy_(moments[1]);
                    if (state.master != null) {
                        state.master.copy_(moments[2]);
                    }
                }
                state.step = restored.params().get(g).get(i).step();
            }
        }
        optimizer.restoreStepCount(restored.stepCount());
    }

    private static void require(boolean condition, Path path, String problem) throws CheckpointException {
        if (!condition) {
            throw new CheckpointException("cannot load " + path + ": " + problem);
        }
    }

    private static String key(int group, int index, String name) {
        return "g" + group + ".p" + index + "." + name;
    }
}
