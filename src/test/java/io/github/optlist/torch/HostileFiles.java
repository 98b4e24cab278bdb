package io.github.optlist.torch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Crafting files as a hostile sender would: zip archives rebuilt with correct CRC32s (so that only the loaders'
 * own checks stand in the way), pickles patched opcode by opcode, and raw zip records. Written here from the zip
 * specification (APPNOTE) and the pickle opcodes, with {@code java.util.zip}; nothing of the code under test.
 */
final class HostileFiles {

    /** Matches any one byte in {@link #indexOf} patterns. */
    static final int ANY = -1;

    private HostileFiles() {
    }

    /** The entries of a zip file, in order, read by {@code java.util.zip}. */
    static Map<String, byte[]> unzip(byte[] zip) {
        try {
            Path file = Files.createTempFile("hostile", ".zip");
            try {
                Files.write(file, zip);
                Map<String, byte[]> entries = new LinkedHashMap<>();
                try (ZipFile archive = new ZipFile(file.toFile())) {
                    for (ZipEntry entry : Collections.list(archive.entries())) {
                        entries.put(entry.getName(), archive.getInputStream(entry).readAllBytes());
                    }
                }
                return entries;
            } finally {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A zip file of {@code entries}, stored uncompressed with correct sizes and CRC32s. */
    static byte[] zip(Map<String, byte[]> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(e.getValue().length);
                entry.setCompressedSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setCrc(crc.getValue());
                out.putNextEntry(entry);
                out.write(e.getValue());
                out.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** The name of the archive's {@code data.pkl} entry. */
    static String pickleName(Map<String, byte[]> entries) {
        return entries.keySet().stream().filter(name -> name.endsWith("/data.pkl")).findFirst().orElseThrow();
    }

    /** {@code file} rebuilt with its {@code data.pkl} patched by {@code patch}; every CRC32 correct. */
    static byte[] withPickle(byte[] file, UnaryOperator<byte[]> patch) {
        Map<String, byte[]> entries = unzip(file);
        String name = pickleName(entries);
        entries.put(name, patch.apply(entries.get(name)));
        return zip(entries);
    }

    /** {@code file} rebuilt with the entry ending in {@code suffix} replaced by {@code bytes}. */
    static byte[] withEntry(byte[] file, String suffix, byte[] bytes) {
        Map<String, byte[]> entries = unzip(file);
        String name = entries.keySet().stream().filter(n -> n.endsWith(suffix)).findFirst().orElseThrow();
        entries.put(name, bytes);
        return zip(entries);
    }

    /** Where {@code pattern} (bytes 0..255, or {@link #ANY}) first occurs in {@code data} from {@code from}, or -1. */
    static int indexOf(byte[] data, int from, int... pattern) {
        for (int at = from; at + pattern.length <= data.length; at++) {
            boolean match = true;
            for (int i = 0; i < pattern.length && match; i++) {
                match = pattern[i] == ANY || (data[at + i] & 0xff) == pattern[i];
            }
            if (match) {
                return at;
            }
        }
        return -1;
    }

    /** {@code data} with {@code length} bytes at {@code at} replaced by {@code replacement}. */
    static byte[] splice(byte[] data, int at, int length, byte[] replacement) {
        if (at < 0) {
            throw new AssertionError("pattern not found");
        }
        ByteBuffer out = ByteBuffer.allocate(data.length - length + replacement.length);
        out.put(data, 0, at).put(replacement).put(data, at + length, data.length - at - length);
        return out.array();
    }

    /** The pickle opcode BININT: a signed 32-bit int. */
    static byte[] binInt(int value) {
        return ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN).put((byte) 'J').putInt(value).array();
    }

    /** The pickle opcode LONG1 with 8 bytes: any long. */
    static byte[] long1(long value) {
        return ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0x8a).put((byte) 8).putLong(value)
                .array();
    }

    /** The pickle opcode BINUNICODE of {@code text}. */
    static byte[] binUnicode(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + utf8.length).order(ByteOrder.LITTLE_ENDIAN).put((byte) 'X')
                .putInt(utf8.length).put(utf8).array();
    }

    /** {@code levels} lists, each appended into the one before: a value {@code levels} deep, about 2 bytes a level. */
    static byte[] nestedLists(int levels) {
        byte[] out = new byte[2 * levels - 1];
        java.util.Arrays.fill(out, 0, levels, (byte) ']');
        java.util.Arrays.fill(out, levels, out.length, (byte) 'a');
        return out;
    }

    /** {@code pickle} with every BINUNICODE {@code from} replaced by a BINUNICODE {@code to}. */
    static byte[] replaceStrings(byte[] pickle, String from, String to) {
        byte[] old = binUnicode(from);
        int[] pattern = new int[old.length];
        for (int i = 0; i < old.length; i++) {
            pattern[i] = old[i] & 0xff;
        }
        byte[] out = pickle;
        for (int at = indexOf(out, 0, pattern); at >= 0; at = indexOf(out, at + 1, pattern)) {
            out = splice(out, at, old.length, binUnicode(to));
        }
        return out;
    }

    /** Little-endian bytes of {@code values}, each {@code width} bytes long. */
    static byte[] le(int width, long... values) {
        ByteBuffer out = ByteBuffer.allocate(width * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (width) {
                case 2 -> out.putShort((short) v);
                case 4 -> out.putInt((int) v);
                case 8 -> out.putLong(v);
                default -> throw new IllegalArgumentException("width " + width);
            }
        }
        return out.array();
    }

    /** Concatenates byte arrays. */
    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** Makes {@code entry} a stored one holding {@code bytes}, as {@code ZipOutputStream} requires. */
    static void stored(ZipEntry entry, byte[] bytes) {
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(bytes.length);
        entry.setCompressedSize(bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        entry.setCrc(crc.getValue());
    }

    /**
     * One zip entry written field by field: {@code method} 0 (stored) or 8 (deflate), the CRC32 and uncompressed
     * size it declares, and its bytes as they are in the file.
     */
    record RawEntry(String name, int method, long crc, long declaredSize, byte[] data) {

        /** A stored entry with its true CRC32 and size. */
        static RawEntry stored(String name, byte[] data) {
            CRC32 crc = new CRC32();
            crc.update(data);
            return new RawEntry(name, 0, crc.getValue(), data.length, data);
        }
    }

    /** A zip file of {@code entries}, each written as it declares itself: local headers, central directory, end. */
    static byte[] rawZip(java.util.List<RawEntry> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream central = new ByteArrayOutputStream();
        for (RawEntry e : entries) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            long offset = out.size();
            out.writeBytes(concat(le(4, 0x04034b50L), le(2, 20, 0, e.method(), 0, 0), le(4, e.crc(), e.data().length,
                    e.declaredSize()), le(2, name.length, 0), name, e.data()));
            central.writeBytes(concat(le(4, 0x02014b50L), le(2, 20, 20, 0, e.method(), 0, 0), le(4, e.crc(),
                    e.data().length, e.declaredSize()), le(2, name.length, 0, 0, 0, 0), le(4, 0, offset), name));
        }
        long directory = out.size();
        out.writeBytes(central.toByteArray());
        out.writeBytes(concat(le(4, 0x06054b50L), le(2, 0, 0, entries.size(), entries.size()),
                le(4, central.size(), directory), le(2, 0)));
        return out.toByteArray();
    }

    /** {@code file} with one more entry, {@code name}: 16 bytes that are not deflate, declaring {@code size}. */
    static byte[] withGarbageDeflatedEntry(byte[] file, String name, long size) {
        java.util.List<RawEntry> entries = new java.util.ArrayList<>();
        unzip(file).forEach((n, bytes) -> entries.add(RawEntry.stored(n, bytes)));
        byte[] garbage = new byte[16];
        java.util.Arrays.fill(garbage, (byte) 0xff);
        entries.add(new RawEntry(name, 8, 0x12345678L, size, garbage));
        return rawZip(entries);
    }

    /** {@code pickle} with its JSON string (the checkpoint's metadata, starting {@code {"format"}) edited. */
    static byte[] replaceJson(byte[] pickle, UnaryOperator<String> edit) {
        int at = indexOf(pickle, 0, 'X', ANY, ANY, ANY, ANY, '{', '"', 'f', 'o', 'r', 'm', 'a', 't', '"');
        int length = ByteBuffer.wrap(pickle, at + 1, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        String json = new String(pickle, at + 5, length, StandardCharsets.UTF_8);
        String edited = edit.apply(json);
        if (edited.equals(json)) {
            throw new AssertionError("the edit changed nothing in " + json);
        }
        return splice(pickle, at, 5 + length, binUnicode(edited));
    }
}
