package io.github.optlist.torch;

import org.bytedeco.javacpp.BytePointer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A LibTorch archive (a zip file) read whole into native memory and checked before LibTorch parses it: its
 * structure (end of central directory, zip64 records, every central and local header within the file and
 * agreeing on the entry's name) and every entry's CRC32. LibTorch itself skips the CRC check (its miniz is built
 * with {@code MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS}), so a flipped bit in a moment would load silently. The
 * bytes checked are the bytes LibTorch then parses: the file is read once.
 */
final class VerifiedZip {

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
