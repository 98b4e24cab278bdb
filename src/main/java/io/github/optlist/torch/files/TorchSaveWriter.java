package io.github.optlist.torch.files;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a value tree in the file format of Python's {@code torch.save} (its zip format, since torch 1.6): an
 * uncompressed zip whose {@code archive/data.pkl} is a protocol 2 pickle and whose {@code archive/data/<key>}
 * records hold each tensor's bytes, aligned to 64 bytes as torch aligns them.
 *
 * <p>The tree may hold {@link Map}s (keys {@link String} or {@link Long}, in iteration order), {@link List}s
 * (pickled as Python lists), {@link String}, {@link Long}, {@link Double}, {@link Boolean} and float32, float64,
 * float16 or bfloat16 {@link Tensor}s, which are written as contiguous CPU tensors (Python's {@code torch.load}
 * gives them as CPU tensors; an optimizer's {@code load_state_dict} moves them to its parameters' device).
 *
 * <p>Why not LibTorch's {@code torch::pickle_save}: its output is a file Python's {@code torch.load} reads, but the
 * presets cannot build the dictionaries a state_dict is made of ({@code GenericDict} has neither a constructor nor
 * an insert there), so the pickle is written here; {@link TorchFile} reads it back (see
 * {@link PythonStateDicts#read}).
 */
public final class TorchSaveWriter {

    private static final String PREFIX = "archive/";
    private static final int ALIGNMENT = 64;
    /** Zip local header: 30 fixed bytes, the name, the extra field; the padding's own header is 4 bytes. */
    private static final int LOCAL_HEADER = 30;
    private static final int CHUNK = 1 << 20;
    /** A fixed time stamp, so the same state gives the same bytes. */
    private static final long TIME = 946_684_800_000L;

    private final ByteBufferOutput pickle = new ByteBufferOutput();
    private final List<Tensor> storages = new ArrayList<>();

    private TorchSaveWriter() {
    }

    /**
     * Writes {@code root} to {@code out}, which stays open (the caller owns it). The whole pickle is built before
     * the first byte is written.
     *
     * @throws IllegalArgumentException if the tree holds another type, a tensor of another dtype, or a map key
     *                                  that is neither a string nor a long; nothing is written then
     */
    public static void write(Object root, OutputStream out) throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            TorchSaveWriter writer = new TorchSaveWriter();
            writer.pickle.write(0x80);
            writer.pickle.write(2);
            writer.value(root);
            writer.pickle.write('.');
            writer.writeZip(out);
        }
    }

    private void value(Object value) {
        if (value == null) {
            pickle.write('N');
        } else if (value instanceof Boolean b) {
            pickle.write(b ? 0x88 : 0x89);
        } else if (value instanceof Long l) {
            integer(l);
        } else if (value instanceof Double d) {
            pickle.write('G');
            pickle.writeLong(Double.doubleToRawLongBits(d));
        } else if (value instanceof String s) {
            string(s);
        } else if (value instanceof Map<?, ?> map) {
            pickle.write('}');
            if (!map.isEmpty()) {
                pickle.write('(');
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    if (!(entry.getKey() instanceof String) && !(entry.getKey() instanceof Long)) {
                        throw new IllegalArgumentException("a map key must be a String or a Long, got "
                                + entry.getKey());
                    }
                    value(entry.getKey());
                    value(entry.getValue());
                }
                pickle.write('u');
            }
        } else if (value instanceof List<?> list) {
            pickle.write(']');
            if (!list.isEmpty()) {
                pickle.write('(');
                list.forEach(this::value);
                pickle.write('e');
            }
        } else if (value instanceof Tensor tensor) {
            tensor(tensor);
        } else {
            throw new IllegalArgumentException("cannot pickle a " + value.getClass().getName());
        }
    }

    private void integer(long value) {
        if (value >= 0 && value < 256) {
            pickle.write('K');
            pickle.write((int) value);
        } else if (value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE) {
            pickle.write('J');
            pickle.writeIntLittleEndian((int) value);
        } else {
            // LONG1: little-endian two's complement, here always 8 bytes
            pickle.write(0x8a);
            pickle.write(8);
            for (int i = 0; i < 8; i++) {
                pickle.write((int) (value >>> (8 * i)) & 0xff);
            }
        }
    }

    private void string(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        pickle.write('X');
        pickle.writeIntLittleEndian(bytes.length);
        pickle.write(bytes);
    }

    private void global(String module, String name) {
        pickle.write('c');
        pickle.write((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * {@code torch._utils._rebuild_tensor_v2(persistent_load(('storage', torch.<Type>Storage, key, 'cpu', numel)),
     * 0, size, stride, False, collections.OrderedDict())}, as Python's {@code torch.save} writes a tensor.
     */
    private void tensor(Tensor tensor) {
        if (tensor.isNull() || !tensor.defined()) {
            throw new IllegalArgumentException("cannot pickle an undefined tensor");
        }
        String storageType = storageType(tensor.scalar_type());
        Tensor cpu = tensor.to(new Device("cpu"), tensor.scalar_type()).contiguous();
        String key = Integer.toString(storages.size());
        storages.add(cpu);
        long[] shape = cpu.shape();
        long[] stride = new long[shape.length];
        for (int d = 0; d < stride.length; d++) {
            stride[d] = cpu.stride(d);
        }
        global("torch._utils", "_rebuild_tensor_v2");
        pickle.write('(');
        pickle.write('(');
        string("storage");
        global("torch", storageType);
        string(key);
        string("cpu");
        integer(cpu.numel());
        pickle.write('t');
        pickle.write('Q');
        integer(0);
        tuple(shape);
        tuple(stride);
        pickle.write(0x89);
        global("collections", "OrderedDict");
        pickle.write(')');
        pickle.write('R');
        pickle.write('t');
        pickle.write('R');
    }

    private void tuple(long[] values) {
        pickle.write('(');
        for (long v : values) {
            integer(v);
        }
        pickle.write('t');
    }

    private static String storageType(ScalarType dtype) {
        int code = dtype.value;
        if (code == ScalarType.Float.value) {
            return "FloatStorage";
        } else if (code == ScalarType.Double.value) {
            return "DoubleStorage";
        } else if (code == ScalarType.Half.value) {
            return "HalfStorage";
        } else if (code == ScalarType.BFloat16.value) {
            return "BFloat16Storage";
        }
        throw new IllegalArgumentException("cannot write a " + dtype + " tensor");
    }

    private void writeZip(OutputStream target) throws IOException {
        CountingOutput counting = new CountingOutput(target);
        try (ZipOutputStream zip = new ZipOutputStream(counting)) {
            byte[] data = pickle.toByteArray();
            entry(zip, counting, "data.pkl", ByteBuffer.wrap(data));
            entry(zip, counting, "byteorder", ByteBuffer.wrap("little".getBytes(StandardCharsets.US_ASCII)));
            for (int i = 0; i < storages.size(); i++) {
                Tensor cpu = storages.get(i);
                long bytes = cpu.numel() * cpu.element_size();
                BytePointer pointer = new BytePointer(cpu.data_ptr()).capacity(bytes);
                entry(zip, counting, "data/" + i, pointer, bytes);
            }
            entry(zip, counting, "version", ByteBuffer.wrap("3\n".getBytes(StandardCharsets.US_ASCII)));
        }
    }

    private static void entry(ZipOutputStream zip, CountingOutput counting, String name, ByteBuffer bytes)
            throws IOException {
        CRC32 crc = new CRC32();
        crc.update(bytes.duplicate());
        ZipEntry entry = storedEntry(name, bytes.remaining(), crc.getValue(), counting.count);
        zip.putNextEntry(entry);
        zip.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
        zip.closeEntry();
    }

    private static void entry(ZipOutputStream zip, CountingOutput counting, String name, BytePointer data,
                              long size) throws IOException {
        CRC32 crc = new CRC32();
        for (long at = 0; at < size; at += CHUNK) {
            crc.update(ZipArchive.slice(data, at, at + Math.min(CHUNK, size - at)));
        }
        zip.putNextEntry(storedEntry(name, size, crc.getValue(), counting.count));
        byte[] buffer = new byte[(int) Math.min(CHUNK, Math.max(size, 1))];
        for (long at = 0; at < size; at += CHUNK) {
            int n = (int) Math.min(CHUNK, size - at);
            ZipArchive.slice(data, at, at + n).get(buffer, 0, n);
            zip.write(buffer, 0, n);
        }
        zip.closeEntry();
    }

    /** A stored entry whose data starts on a 64-byte boundary, padded with an extra field as torch pads. */
    private static ZipEntry storedEntry(String name, long size, long crc, long headerOffset) {
        String fullName = PREFIX + name;
        ZipEntry entry = new ZipEntry(fullName);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(size);
        entry.setCompressedSize(size);
        entry.setCrc(crc);
        entry.setTime(TIME);
        long start = headerOffset + LOCAL_HEADER + fullName.getBytes(StandardCharsets.UTF_8).length + 4;
        int padding = (int) ((ALIGNMENT - start % ALIGNMENT) % ALIGNMENT);
        byte[] extra = new byte[4 + padding];
        extra[0] = 'F';
        extra[1] = 'B';
        extra[2] = (byte) padding;
        extra[3] = (byte) (padding >>> 8);
        java.util.Arrays.fill(extra, 4, extra.length, (byte) 'Z');
        entry.setExtra(extra);
        return entry;
    }

    /** Counts the bytes written, to know where each local header starts. */
    private static final class CountingOutput extends FilterOutputStream {
        long count;

        CountingOutput(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        /** Ends the zip, not the caller's stream. */
        @Override
        public void close() throws IOException {
            flush();
        }
    }

    /** A growable byte buffer with the little- and big-endian writes the pickle needs. */
    private static final class ByteBufferOutput extends java.io.ByteArrayOutputStream {

        void writeIntLittleEndian(int value) {
            for (int i = 0; i < 4; i++) {
                write((value >>> (8 * i)) & 0xff);
            }
        }

        void writeLong(long value) {
            for (int i = 7; i >= 0; i--) {
                write((int) (value >>> (8 * i)) & 0xff);
            }
        }

        @Override
        public void write(byte[] bytes) {
            write(bytes, 0, bytes.length);
        }
    }
}
