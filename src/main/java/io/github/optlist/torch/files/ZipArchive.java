package io.github.optlist.torch.files;

import org.bytedeco.javacpp.BytePointer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The zip container of a file torch writes ({@code torch.save}, LibTorch's archives), read with positional reads
 * and trusting nothing the file says about itself: every offset and size is checked against the file's real length
 * in arithmetic that cannot overflow, every central header against its local header, and every byte used against
 * its entry's CRC32 (LibTorch skips the CRC check). Only what is read is held in memory: the central directory, and
 * the entries asked for.
 *
 * <p>torch stores its data uncompressed; LibTorch compresses only the code records of its archives, which nothing
 * here reads. So entries are read only when stored, and a compressed entry is checked by inflating at most
 * {@link #MAX_INFLATED} bytes of it (a larger one is left unread), which bounds the cost of a file whose entries
 * inflate to much more than it holds.
 */
final class ZipArchive implements AutoCloseable {

    /** The largest central directory read: about 500 000 entries. */
    static final long MAX_DIRECTORY = 64L << 20;
    /** The most bytes one compressed entry is inflated to for its CRC32 check. */
    static final long MAX_INFLATED = 1L << 20;

    private static final int LOCAL_HEADER = 0x04034b50;
    private static final int CENTRAL_HEADER = 0x02014b50;
    private static final int END = 0x06054b50;
    private static final int ZIP64_END = 0x06064b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final long MAX_32 = 0xffffffffL;
    private static final int CHUNK = 1 << 16;

    /**
     * One entry, as its central and local headers agree on it.
     *
     * @param data where its bytes start in the file
     */
    record Entry(String name, int method, long crc, long compressedSize, long size, long data) {

        boolean stored() {
            return method == 0;
        }
    }

    /** The archive is not a well-formed zip file: what is wrong. */
    static final class DamagedException extends Exception {
        private static final long serialVersionUID = 1L;

        DamagedException(String problem) {
            super(problem);
        }
    }

    private final FileChannel channel;
    private final long fileSize;
    private final Map<String, Entry> entries;

    private ZipArchive(FileChannel channel, long fileSize, Map<String, Entry> entries) {
        this.channel = channel;
        this.fileSize = fileSize;
        this.entries = entries;
    }

    /**
     * Opens the archive at {@code path} and checks its structure (not yet the entries' CRC32s); the caller closes it.
     *
     * @throws DamagedException if it is not a zip archive or its structure is inconsistent or lies outside the file
     * @throws IOException      if the file cannot be read
     */
    static ZipArchive open(Path path) throws IOException, DamagedException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = channel.size();
            ZipArchive archive = new ZipArchive(channel, size, readDirectory(channel, size));
            return archive;
        } catch (IOException | DamagedException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The entries in central-directory order. */
    List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    /** The entry named {@code name}, or null. */
    Entry entry(String name) {
        return entries.get(name);
    }

    /**
     * The bytes of a stored entry of at most {@code max} bytes, checked against its CRC32.
     *
     * @throws DamagedException if it is compressed, larger than {@code max}, or fails its CRC32
     */
    byte[] read(Entry entry, long max) throws IOException, DamagedException {
        requireStored(entry);
        if (entry.size() > max) {
            throw new DamagedException("entry '" + entry.name() + "' has " + entry.size() + " bytes, more than the "
                    + max + " read for it");
        }
        byte[] bytes = new byte[(int) entry.size()];
        readFully(ByteBuffer.wrap(bytes), entry.data());
        CRC32 crc = new CRC32();
        crc.update(bytes);
        requireCrc(entry, crc.getValue());
        return bytes;
    }

    /**
     * Copies {@code length} bytes of a stored entry, from byte {@code from} of it, to {@code target}, and checks the
     * whole entry against its CRC32 on the way (the bytes outside the range are streamed, not kept).
     *
     * @throws DamagedException if it is compressed or fails its CRC32
     */
    void copy(Entry entry, long from, long length, BytePointer target) throws IOException, DamagedException {
        requireStored(entry);
        if (from < 0 || length < 0 || from > entry.size() || length > entry.size() - from) {
            throw new IllegalArgumentException("bytes [" + from + ", +" + length + ") outside entry " + entry.name());
        }
        CRC32 crc = new CRC32();
        stream(entry.data(), from, crc);
        for (long done = 0; done < length; done += Integer.MAX_VALUE / 2) {
            long n = Math.min(length - done, Integer.MAX_VALUE / 2);
            ByteBuffer chunk = new BytePointer(target).position(done).limit(done + n).asByteBuffer();
            readFully(chunk, entry.data() + from + done);
            chunk.flip();
            crc.update(chunk);
        }
        stream(entry.data() + from + length, entry.size() - from - length, crc);
        requireCrc(entry, crc.getValue());
    }

    /**
     * Checks an entry that is not read for its data against its CRC32: a stored one by streaming it, a compressed
     * one by inflating it if it declares at most {@link #MAX_INFLATED} bytes (else it is left unread).
     *
     * @throws DamagedException if it fails its CRC32 or does not inflate to its declared size
     */
    void verify(Entry entry) throws IOException, DamagedException {
        if (entry.stored()) {
            CRC32 crc = new CRC32();
            stream(entry.data(), entry.size(), crc);
            requireCrc(entry, crc.getValue());
        } else if (entry.size() <= MAX_INFLATED) {
            requireCrc(entry, inflatedCrc(entry));
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    // --- structure ----------------------------------------------------------------------------------------------

    private static Map<String, Entry> readDirectory(FileChannel channel, long size)
            throws IOException, DamagedException {
        if (size < 22) {
            throw new DamagedException("it has " + size + " bytes, too few for a zip archive");
        }
        int tailLength = (int) Math.min(size, 22 + 0xffff);
        ByteBuffer tail = bytesAt(channel, size - tailLength, tailLength);
        int endInTail = -1;
        for (int at = tailLength - 22; at >= 0 && endInTail < 0; at--) {
            if (tail.getInt(at) == END && at + 22 + u16(tail, at + 20) == tailLength) {
                endInTail = at;
            }
        }
        if (endInTail < 0) {
            throw new DamagedException("it has no zip end of central directory");
        }
        long end = size - tailLength + endInTail;
        long count = u16(tail, endInTail + 10);
        long directorySize = u32(tail, endInTail + 12);
        long directory = u32(tail, endInTail + 16);
        long directoryEnd = end;
        ByteBuffer locator = end >= 20 ? bytesAt(channel, end - 20, 20) : null;
        if (locator != null && locator.getInt(0) == ZIP64_LOCATOR) {
            long zip64End = locator.getLong(8);
            structure(zip64End >= 0 && zip64End <= end - 20 - 56, "its zip64 end record lies outside the file");
            ByteBuffer record = bytesAt(channel, zip64End, 56);
            structure(record.getInt(0) == ZIP64_END, "its zip64 end record is missing");
            count = record.getLong(32);
            directorySize = record.getLong(40);
            directory = record.getLong(48);
            directoryEnd = zip64End;
        }
        structure(count >= 0 && directory >= 0 && directorySize >= 0 && directory <= directoryEnd
                && directorySize <= directoryEnd - directory, "its central directory lies outside the file");
        structure(directorySize <= MAX_DIRECTORY, "its central directory has " + directorySize + " bytes, more than"
                + " the " + MAX_DIRECTORY + " read");
        ByteBuffer central = bytesAt(channel, directory, (int) directorySize);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int at = 0;
        for (long n = 0; n < count; n++) {
            structure(at <= directorySize - 46 && central.getInt(at) == CENTRAL_HEADER,
                    "its central directory is cut short after " + n + " of " + count + " entries");
            at = readEntry(channel, central, at, directory, entries);
        }
        structure(at == directorySize, "its central directory holds more than " + count + " entries");
        return Collections.unmodifiableMap(entries);
    }

    /** Reads the central header at {@code at} into {@code entries}; returns where the next one starts. */
    private static int readEntry(FileChannel channel, ByteBuffer central, int at, long directory,
                                 Map<String, Entry> entries) throws IOException, DamagedException {
        int flags = u16(central, at + 8);
        int method = u16(central, at + 10);
        long crc = u32(central, at + 16);
        long compressed = u32(central, at + 20);
        long size = u32(central, at + 24);
        int nameLength = u16(central, at + 28);
        int extraLength = u16(central, at + 30);
        int commentLength = u16(central, at + 32);
        long local = u32(central, at + 42);
        int next = at + 46 + nameLength + extraLength + commentLength;
        structure(next <= central.limit(), "its central directory is cut short");
        String name = string(central, at + 46, nameLength);
        int extraEnd = at + 46 + nameLength + extraLength;
        for (int x = at + 46 + nameLength; x + 4 <= extraEnd; ) {
            int id = u16(central, x);
            int fieldsEnd = x + 4 + u16(central, x + 2);
            structure(fieldsEnd <= extraEnd, "entry '" + name + "' has a cut extra field");
            if (id == 1) { // zip64: the 64-bit values of the fields that hold 0xffffffff, in this order
                int field = x + 4;
                if (size == MAX_32) {
                    structure(field + 8 <= fieldsEnd, "entry '" + name + "' has a cut zip64 field");
                    size = central.getLong(field);
                    field += 8;
                }
                if (compressed == MAX_32) {
                    structure(field + 8 <= fieldsEnd, "entry '" + name + "' has a cut zip64 field");
                    compressed = central.getLong(field);
                    field += 8;
                }
                if (local == MAX_32) {
                    structure(field + 8 <= fieldsEnd, "entry '" + name + "' has a cut zip64 field");
                    local = central.getLong(field);
                }
            }
            x = fieldsEnd;
        }
        structure((flags & 1) == 0, "entry '" + name + "' is encrypted");
        structure(local >= 0 && local <= directory - 30, "entry '" + name + "' has no local header where the central"
                + " directory says");
        ByteBuffer header = bytesAt(channel, local, 30);
        structure(header.getInt(0) == LOCAL_HEADER, "entry '" + name + "' has no local header where the central"
                + " directory says");
        int localNameLength = u16(header, 26);
        long data = local + 30 + localNameLength + u16(header, 28);
        structure(data <= directory, "entry '" + name + "' has a local header running into the central directory");
        structure(localNameLength == nameLength
                        && name.equals(string(bytesAt(channel, local + 30, localNameLength), 0, localNameLength)),
                "entry '" + name + "' has another name in its local header");
        structure(compressed >= 0 && size >= 0 && compressed <= directory - data,
                "entry '" + name + "' runs past the end of its data");
        structure(method == 0 || method == 8, "entry '" + name + "' uses zip compression method " + method
                + ", which torch does not write");
        structure(method != 0 || compressed == size, "entry '" + name + "' has inconsistent sizes");
        structure(entries.put(name, new Entry(name, method, crc, compressed, size, data)) == null,
                "it holds two entries named '" + name + "'");
        return next;
    }

    // --- bytes --------------------------------------------------------------------------------------------------

    private void requireStored(Entry entry) throws DamagedException {
        if (!entry.stored()) {
            throw new DamagedException("entry '" + entry.name() + "' is compressed; torch stores its data"
                    + " uncompressed");
        }
    }

    private static void requireCrc(Entry entry, long actual) throws DamagedException {
        if (actual != entry.crc()) {
            throw new DamagedException("entry '" + entry.name() + "' fails its CRC32 check (the archive records "
                    + Long.toHexString(entry.crc()) + ", its bytes give " + Long.toHexString(actual) + ")");
        }
    }

    private void stream(long from, long length, CRC32 crc) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
        for (long done = 0; done < length; done += buffer.limit()) {
            buffer.clear().limit((int) Math.min(CHUNK, length - done));
            readFully(buffer, from + done);
            buffer.flip();
            crc.update(buffer);
        }
    }

    private long inflatedCrc(Entry entry) throws IOException, DamagedException {
        CRC32 crc = new CRC32();
        Inflater inflater = new Inflater(true);
        ByteBuffer input = ByteBuffer.allocate(CHUNK);
        byte[] out = new byte[CHUNK];
        long total = 0;
        try {
            for (long done = 0; done < entry.compressedSize() && !inflater.finished(); ) {
                input.clear().limit((int) Math.min(CHUNK, entry.compressedSize() - done));
                readFully(input, entry.data() + done);
                done += input.limit();
                input.flip();
                inflater.setInput(input);
                while (!inflater.needsInput() && !inflater.finished()) {
                    int n = inflater.inflate(out);
                    total += n;
                    if (total > entry.size()) {
                        throw new DamagedException("entry '" + entry.name() + "' inflates to more than its "
                                + entry.size() + " bytes");
                    }
                    crc.update(out, 0, n);
                }
            }
        } catch (DataFormatException e) {
            throw new DamagedException("entry '" + entry.name() + "' does not inflate: " + e.getMessage());
        } finally {
            inflater.end();
        }
        structure(total == entry.size(), "entry '" + entry.name() + "' inflates to " + total + " bytes, not "
                + entry.size());
        return crc.getValue();
    }

    private void readFully(ByteBuffer target, long position) throws IOException {
        readFully(channel, target, position);
    }

    private static void readFully(FileChannel channel, ByteBuffer target, long position) throws IOException {
        long at = position;
        while (target.hasRemaining()) {
            int n = channel.read(target, at);
            if (n < 0) {
                throw new IOException("the file shrank while being read");
            }
            at += n;
        }
    }

    private static ByteBuffer bytesAt(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, buffer, position);
        return buffer.flip();
    }

    private static void structure(boolean condition, String problem) throws DamagedException {
        if (!condition) {
            throw new DamagedException(problem);
        }
    }

    private static String string(ByteBuffer buffer, int at, int length) {
        byte[] bytes = new byte[length];
        buffer.get(at, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static int u16(ByteBuffer buffer, int at) {
        return buffer.getShort(at) & 0xffff;
    }

    private static long u32(ByteBuffer buffer, int at) {
        return buffer.getInt(at) & 0xffffffffL;
    }

    /** A view of {@code bytes[from, to)}, {@code to - from} below 2^31. */
    static ByteBuffer slice(BytePointer bytes, long from, long to) {
        return new BytePointer(bytes).position(from).limit(to).asByteBuffer();
    }

    /** For messages: how many entries, and which. */
    @Override
    public String toString() {
        List<String> names = new ArrayList<>(entries.keySet());
        return names.size() + " entries " + names;
    }
}
