package io.github.optlist.torch.files;

import java.util.List;
import java.util.Map;

/**
 * The values {@link Unpickler} builds from a pickle, and how messages describe them: Python ints are {@link Long},
 * floats {@link Double}, bools {@link Boolean}, strings {@link String}, {@code None} {@link #NONE}, lists
 * {@link List}, tuples {@link Tuple}, dicts (and {@code OrderedDict}s) {@link Map}s in insertion order with string or
 * int keys, a tensor a {@link TensorRecord} (its storage, dtype and geometry, no bytes), and an object of a
 * TorchScript class an inert {@link ScriptObject} holding its state.
 */
final class Pickled {

    private Pickled() {
    }

    /** Python's {@code None}. */
    enum None { NONE }

    static final None NONE = None.NONE;

    /** A Python tuple. */
    record Tuple(List<Object> items) {
    }

    /**
     * An object of a TorchScript class ({@code __torch__.*}), as LibTorch's archives pickle modules: its class name
     * and the state a {@code BUILD} gave it (null if none). Nothing of the class is loaded or run.
     */
    static final class ScriptObject {
        final String className;
        Object state;

        ScriptObject(String className) {
            this.className = className;
        }
    }

    /**
     * A tensor's storage as its persistent id names it: the record {@code data/<key>} holding {@code numel}
     * elements of {@code dtype}, saved from device {@code location}.
     */
    record StorageRef(String key, StorageDtype dtype, String location, long numel) {
    }

    /**
     * A tensor as {@code _rebuild_tensor_v2} describes it: a view of {@code storage} at {@code offset} with
     * {@code sizes} and {@code strides}, all checked to lie within the storage.
     */
    record TensorRecord(StorageRef storage, long offset, long[] sizes, long[] strides) {

        long numel() {
            long n = 1;
            for (long size : sizes) {
                n *= size; // checked not to overflow when the record was made
            }
            return n;
        }

        /** The number of storage elements from {@code offset} the view reaches (0 for an empty tensor). */
        long span() {
            if (numel() == 0) {
                return 0;
            }
            long last = 0;
            for (int i = 0; i < sizes.length; i++) {
                last += (sizes[i] - 1) * strides[i];
            }
            return last + 1;
        }
    }

    /** The dtypes of the {@code torch.*Storage} globals: their ScalarType name and element size in bytes. */
    enum StorageDtype {
        FLOAT("FloatStorage", "Float", 4), DOUBLE("DoubleStorage", "Double", 8), HALF("HalfStorage", "Half", 2),
        BFLOAT16("BFloat16Storage", "BFloat16", 2), LONG("LongStorage", "Long", 8), INT("IntStorage", "Int", 4),
        SHORT("ShortStorage", "Short", 2), CHAR("CharStorage", "Char", 1), BYTE("ByteStorage", "Byte", 1),
        BOOL("BoolStorage", "Bool", 1);

        final String global;
        final String scalarType;
        final int elementSize;

        StorageDtype(String global, String scalarType, int elementSize) {
            this.global = global;
            this.scalarType = scalarType;
            this.elementSize = elementSize;
        }
    }

    /** A pickle refused by {@link Unpickler}: what is wrong, and where. */
    static final class PickleException extends Exception {
        private static final long serialVersionUID = 1L;

        PickleException(String message) {
            super(message);
        }
    }

    /** A short description of a value, never walking into it. */
    static String describe(Object value) {
        if (value instanceof String s) {
            return "'" + abbreviate(s) + "'";
        }
        if (value instanceof Long || value instanceof Double) {
            return value.toString();
        }
        if (value instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (value == NONE) {
            return "None";
        }
        if (value instanceof List<?> list) {
            return "a list of " + list.size();
        }
        if (value instanceof Tuple tuple) {
            return "a tuple of " + tuple.items().size();
        }
        if (value instanceof Map<?, ?> map) {
            return "a dict of " + map.size();
        }
        if (value instanceof TensorRecord) {
            return "a tensor";
        }
        if (value instanceof ScriptObject object) {
            return "an object of the TorchScript class " + object.className;
        }
        return "a " + (value == null ? "null" : value.getClass().getSimpleName());
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
