package io.github.optlist.torch;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Mutations of a valid checkpoint or state dict for the loaders' fuzz test: raw ones, that leave the file's CRC32s
 * as they were (bit flips, truncations, zip header fields set to extreme values), and structured ones, that rebuild
 * the archive with correct CRC32s so that only the loaders' own checks stand in the way (pickle bytes, tensor
 * geometry, deep nesting, huge declared lengths, records of another length, spliced pickles).
 */
final class LoaderMutations {

    /** A mutated file; {@code structured} when its CRC32s were made to match. */
    record Mutated(String kind, byte[] bytes, boolean structured) {
    }

    private static final long[] EXTREMES = {0, 1, -1, 0xffff, 0xffffffffL, 0x7fffffff, 0x80000000L, Long.MAX_VALUE,
        Long.MIN_VALUE, Long.MAX_VALUE - 55, 1L << 32, 1L << 40, 1_000_000_000};

    private LoaderMutations() {
    }

    /** One mutation of {@code valid}, chosen and parameterized by {@code random}. */
    static Mutated mutate(byte[] valid, Random random) {
        return switch (random.nextInt(10)) {
            case 0 -> new Mutated("bit flips", flipBits(valid, random), false);
            case 1 -> new Mutated("truncation", Arrays.copyOf(valid, random.nextInt(valid.length)), false);
            case 2 -> new Mutated("zip field", zipField(valid, random), false);
            case 3 -> new Mutated("tensor geometry", pickled(valid, p -> geometry(p, random)), true);
            case 4 -> new Mutated("pickle bytes", pickled(valid, p -> flipBits(p, random)), true);
            case 5 -> new Mutated("deep nesting", pickled(valid, p -> nested(p, random)), true);
            case 6 -> new Mutated("declared length", pickled(valid, p -> declaredLength(p, random)), true);
            case 7 -> new Mutated("record length", record(valid, random), true);
            case 8 -> new Mutated("pickle splice", pickled(valid, p -> splice(p, random)), true);
            default -> new Mutated("pickle truncation", pickled(valid, p -> Arrays.copyOf(p,
                    random.nextInt(p.length))), true);
        };
    }

    private interface Edit {
        byte[] apply(byte[] pickle);
    }

    private static byte[] pickled(byte[] valid, Edit edit) {
        return HostileFiles.withPickle(valid, edit::apply);
    }

    private static byte[] flipBits(byte[] bytes, Random random) {
        byte[] out = bytes.clone();
        for (int n = 1 + random.nextInt(8); n > 0; n--) {
            out[random.nextInt(out.length)] ^= (byte) (1 << random.nextInt(8));
        }
        return out;
    }

    /** A 2-, 4- or 8-byte field after a zip signature (local, central, end, zip64) set to an extreme value. */
    private static byte[] zipField(byte[] valid, Random random) {
        List<Integer> signatures = new ArrayList<>();
        for (int at = 0; at + 4 <= valid.length; at++) {
            if (valid[at] == 'P' && valid[at + 1] == 'K' && valid[at + 2] < 8 && valid[at + 3] < 8
                    && valid[at + 2] > 0) {
                signatures.add(at);
            }
        }
        byte[] out = valid.clone();
        int at = signatures.get(random.nextInt(signatures.size())) + 4 + random.nextInt(44);
        int width = new int[]{2, 4, 8}[random.nextInt(3)];
        long value = random.nextBoolean() ? EXTREMES[random.nextInt(EXTREMES.length)] : random.nextLong();
        ByteBuffer buffer = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < width && at + i < out.length; i++) {
            buffer.put(at + i, (byte) (value >>> (8 * i)));
        }
        return out;
    }

    /** One small int of the pickle (an offset, size, stride, numel, step, index) replaced by an extreme one. */
    private static byte[] geometry(byte[] pickle, Random random) {
        List<Integer> ints = new ArrayList<>();
        for (int at = 0; at < pickle.length - 1; at++) {
            if (pickle[at] == 'K') {
                ints.add(at);
            }
        }
        if (ints.isEmpty()) {
            return pickle;
        }
        int at = ints.get(random.nextInt(ints.size()));
        long value = random.nextBoolean() ? EXTREMES[random.nextInt(EXTREMES.length)] : random.nextInt(64) - 8;
        return HostileFiles.splice(pickle, at, 2, HostileFiles.long1(value));
    }

    private static byte[] nested(byte[] pickle, Random random) {
        int at = 2 + random.nextInt(Math.max(1, pickle.length - 3));
        int levels = random.nextBoolean() ? 1 + random.nextInt(200) : 10_000 + random.nextInt(30_000);
        return HostileFiles.splice(pickle, at, 0, HostileFiles.nestedLists(levels));
    }

    /** A BINUNICODE's length set to an extreme value. */
    private static byte[] declaredLength(byte[] pickle, Random random) {
        List<Integer> strings = new ArrayList<>();
        for (int at = 0; at + 5 <= pickle.length; at++) {
            if (pickle[at] == 'X' && pickle[at + 3] == 0 && pickle[at + 4] == 0) {
                strings.add(at);
            }
        }
        if (strings.isEmpty()) {
            return pickle;
        }
        byte[] out = pickle.clone();
        int at = strings.get(random.nextInt(strings.size()));
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(at + 1,
                (int) EXTREMES[random.nextInt(EXTREMES.length)]);
        return out;
    }

    /** A tensor record replaced by one of another length. */
    private static byte[] record(byte[] valid, Random random) {
        Map<String, byte[]> entries = new LinkedHashMap<>(HostileFiles.unzip(valid));
        List<String> records = entries.keySet().stream().filter(n -> n.contains("/data/")).toList();
        String name = records.get(random.nextInt(records.size()));
        byte[] old = entries.get(name);
        entries.put(name, Arrays.copyOf(old, Math.max(0, old.length + random.nextInt(17) - 8)));
        return HostileFiles.zip(entries);
    }

    /** A random chunk of the pickle deleted or repeated. */
    private static byte[] splice(byte[] pickle, Random random) {
        int from = random.nextInt(pickle.length);
        int length = random.nextInt(Math.min(64, pickle.length - from) + 1);
        byte[] chunk = Arrays.copyOfRange(pickle, from, from + length);
        return random.nextBoolean() ? HostileFiles.splice(pickle, from, length, new byte[0])
                : HostileFiles.splice(pickle, from, 0, chunk);
    }
}
