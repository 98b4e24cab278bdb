package io.github.optlist.torch;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle reader that runs nothing from the file: the subset of the pickle protocol (versions 2 to 5) that
 * {@code torch.save} and LibTorch's archives write, building plain Java values, as PyTorch's
 * {@code torch.load(weights_only=True)} does in spirit. Python ints become {@link Long}, floats {@link Double}, bools
 * {@link Boolean}, strings {@link String}, {@code None} {@link #NONE}, lists {@link List}, tuples {@link Tuple},
 * dicts (and {@code OrderedDict}s) {@link Map}s in insertion order with string or int keys, a tensor a
 * {@link TensorRecord} (its storage, dtype and geometry, no bytes), and an object of a TorchScript class an inert
 * {@link ScriptObject} holding its state.
 *
 * <p>The only Python globals a file may name are {@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter}, the {@code torch.*Storage}
 * types of {@link StorageDtype}, and TorchScript classes ({@code __torch__.*}), which are recorded, never loaded; any
 * other is refused before anything is built from it. Everything the file says about itself is bounded: strings by
 * the bytes left, nesting by {@link #MAX_DEPTH}, the values built by {@link #MAX_VALUES}, integers by 64 bits. A
 * container cannot change once it is inside another, so no value is cyclic and depths are exact. Each tensor's
 * offset, sizes and strides are checked against the record it reads from before a {@link TensorRecord} is made.
 */
final class Unpickler {

    /** The deepest nesting of containers read; the formats read here nest five deep. */
    static final int MAX_DEPTH = 100;
    /** The most values one pickle may build: a state dict of about 80 000 parameters. */
    static final int MAX_VALUES = 4_000_000;
    /** The most dimensions a tensor may have (LibTorch's own limit is 64 too, for most kernels). */
    static final int MAX_DIMS = 64;

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

    /** The byte length of the archive's record {@code data/<key>}, or -1 when there is none. */
    interface Records {
        long length(String key);
    }

    /** A pickle refused: what is wrong, and where. */
    static final class PickleException extends Exception {
        private static final long serialVersionUID = 1L;

        PickleException(String message) {
            super(message);
        }
    }

    private enum Global { ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER }

    private record StorageType(StorageDtype dtype) {
    }

    private record ScriptClass(String name) {
    }

    private final ByteBuffer in;
    private final Records records;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    /** Each list, dict and tuple's nesting depth (1 for one holding no container). */
    private final Map<Object, Integer> depths = new IdentityHashMap<>();
    /** The containers placed inside another, which may no longer change. */
    private final Map<Object, Boolean> frozen = new IdentityHashMap<>();
    private final Map<String, StorageRef> storages = new HashMap<>();
    private long values;

    private Unpickler(byte[] pickle, Records records) {
        this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
        this.records = records;
    }

    /**
     * The value {@code pickle} holds.
     *
     * @param records the lengths of the archive's tensor records, which every tensor is checked against
     * @throws PickleException if the pickle is malformed, names a global outside the allowed ones, exceeds a bound,
     *                         or describes a tensor reaching outside its record
     */
    static Object load(byte[] pickle, Records records) throws PickleException {
        return new Unpickler(pickle, records).run();
    }

    private Object run() throws PickleException {
        while (true) {
            if (!in.hasRemaining()) {
                throw refused("it ends without a STOP opcode (truncated?)");
            }
            int at = in.position();
            int op = in.get() & 0xff;
            if (op == '.') {
                if (stack.size() != 1 || !marks.isEmpty()) {
                    throw refused("it stops with " + stack.size() + " values on its stack, not one");
                }
                return stack.get(0);
            }
            execute(op, at);
        }
    }

    private void execute(int op, int at) throws PickleException {
        switch (op) {
            case 0x80 -> { // PROTO
                int version = u8();
                if (version < 2 || version > 5) {
                    throw refused("it uses pickle protocol " + version + ", torch writes 2");
                }
            }
            case 0x95 -> bytes(8); // FRAME: a length hint
            case '(' -> {
                count();
                marks.add(stack.size());
            }
            case 'N' -> push(NONE);
            case 0x88 -> push(Boolean.TRUE);
            case 0x89 -> push(Boolean.FALSE);
            case 'J' -> push((long) i32());
            case 'K' -> push((long) u8());
            case 'M' -> push((long) (u8() | u8() << 8));
            case 0x8a -> push(longOf(u8()));
            case 0x8b -> push(longOf(i32()));
            case 'G' -> push(ByteBuffer.wrap(bytes(8)).getDouble()); // big-endian
            case 'X' -> push(string(i32() & 0xffffffffL));
            case 0x8c -> push(string(u8()));
            case 0x8d -> push(string(i32() & 0xffffffffL | (long) i32() << 32));
            case '}' -> push(newContainer(new LinkedHashMap<>()));
            case ']' -> push(newContainer(new ArrayList<>()));
            case ')' -> push(tuple(List.of()));
            case 't' -> push(tuple(popToMark()));
            case 0x85, 0x86, 0x87 -> {
                int n = op - 0x84;
                List<Object> items = new ArrayList<>(stack.subList(stack.size() - requireStack(n), stack.size()));
                pop(n);
                push(tuple(items));
            }
            case 'l' -> {
                List<Object> items = popToMark();
                List<Object> list = newContainer(new ArrayList<>());
                for (Object item : items) {
                    append(list, item);
                }
                push(list);
            }
            case 'd' -> {
                List<Object> items = popToMark();
                Map<Object, Object> dict = newContainer(new LinkedHashMap<>());
                setItems(dict, items);
                push(dict);
            }
            case 'a' -> {
                Object item = pop();
                append(list(top()), item);
            }
            case 'e' -> {
                List<Object> items = popToMark();
                List<Object> list = list(top());
                for (Object item : items) {
                    append(list, item);
                }
            }
            case 's' -> {
                Object value = pop();
                Object key = pop();
                setItems(dict(top()), List.of(key, value));
            }
            case 'u' -> {
                List<Object> items = popToMark();
                setItems(dict(top()), items);
            }
            case 'q' -> memo.put((long) u8(), top());
            case 'r' -> memo.put(i32() & 0xffffffffL, top());
            case 0x94 -> memo.put((long) memo.size(), top());
            case 'h' -> push(memoized(u8()));
            case 'j' -> push(memoized(i32() & 0xffffffffL));
            case 'c' -> push(global(line(), line()));
            case 0x93 -> {
                Object name = pop();
                Object module = pop();
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw refused("STACK_GLOBAL needs two strings");
                }
                push(global(m, n));
            }
            case 'R' -> {
                Object args = pop();
                Object callable = pop();
                push(reduce(callable, args));
            }
            case 0x81 -> {
                Object args = pop();
                Object type = pop();
                if (!(type instanceof ScriptClass script) || !(args instanceof Tuple tuple)
                        || !tuple.items().isEmpty()) {
                    throw refused("NEWOBJ makes only TorchScript objects, without arguments");
                }
                push(newContainer(new ScriptObject(script.name())));
            }
            case 'b' -> {
                Object state = pop();
                if (!(top() instanceof ScriptObject object) || object.state != null) {
                    throw refused("BUILD sets the state of a TorchScript object, once");
                }
                requireChangeable(object);
                adopt(object, state);
                object.state = state;
            }
            case 'Q' -> push(storage(pop()));
            case '0' -> {
                if (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size()) {
                    marks.remove(marks.size() - 1);
                } else {
                    pop();
                }
            }
            case '1' -> popToMark();
            case '2' -> push(top());
            default -> throw refused("opcode 0x" + Integer.toHexString(op) + " at byte " + at
                    + " is not one torch writes");
        }
    }

    // --- values -------------------------------------------------------------------------------------------------

    private Object reduce(Object callable, Object args) throws PickleException {
        if (!(args instanceof Tuple tuple)) {
            throw refused("REDUCE needs a tuple of arguments");
        }
        List<Object> a = tuple.items();
        if (callable == Global.ORDERED_DICT) {
            if (!a.isEmpty()) {
                throw refused("OrderedDict is built without arguments in torch's files");
            }
            return newContainer(new LinkedHashMap<>());
        }
        if (callable == Global.REBUILD_TENSOR) {
            if (a.size() < 6 || a.size() > 7) {
                throw refused("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + a.size());
            }
            return tensor(a.get(0), a.get(1), a.get(2), a.get(3));
        }
        if (callable == Global.REBUILD_PARAMETER) {
            if (a.size() != 3 || !(a.get(0) instanceof TensorRecord data)) {
                throw refused("_rebuild_parameter takes a tensor and two more arguments");
            }
            return data;
        }
        throw refused("REDUCE calls " + describe(callable) + ", which is not callable here");
    }

    private TensorRecord tensor(Object storage, Object offset, Object sizes, Object strides) throws PickleException {
        if (!(storage instanceof StorageRef ref)) {
            throw refused("a tensor's storage is " + describe(storage) + ", not a persistent storage id");
        }
        long first = nonNegative(offset, "storage offset");
        long[] size = dims(sizes, "sizes");
        long[] stride = dims(strides, "strides");
        if (size.length != stride.length) {
            throw refused("a tensor has " + size.length + " sizes but " + stride.length + " strides");
        }
        long numel = 1;
        long last = 0;
        try {
            for (int i = 0; i < size.length; i++) {
                numel = Math.multiplyExact(numel, size[i]);
                if (size[i] > 0) {
                    last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
                }
            }
            if (numel > 0 && Math.addExact(first, last) >= ref.numel()) {
                throw refused("a tensor of sizes " + java.util.Arrays.toString(size) + ", strides "
                        + java.util.Arrays.toString(stride) + " at offset " + first + " reaches element "
                        + (first + last) + " of storage '" + ref.key() + "', which holds " + ref.numel());
            }
        } catch (ArithmeticException e) {
            throw refused("a tensor's sizes " + java.util.Arrays.toString(size) + " and strides "
                    + java.util.Arrays.toString(stride) + " overflow 64 bits");
        }
        return new TensorRecord(ref, first, size, stride);
    }

    private StorageRef storage(Object pid) throws PickleException {
        if (!(pid instanceof Tuple tuple) || tuple.items().size() != 5 || !"storage".equals(tuple.items().get(0))) {
            throw refused("a persistent id is " + describe(pid) + ", not ('storage', type, key, location, numel)");
        }
        List<Object> a = tuple.items();
        if (!(a.get(1) instanceof StorageType type) || !(a.get(2) instanceof String key)
                || !(a.get(3) instanceof String location)) {
            throw refused("a storage id holds " + describe(a.get(1)) + ", " + describe(a.get(2)) + ", "
                    + describe(a.get(3)) + ", not a storage type, a key and a location");
        }
        long numel = nonNegative(a.get(4), "storage size");
        if (!key.matches("[A-Za-z0-9_.]{1,64}") || !location.matches("[a-z]{1,16}(:[0-9]{1,4})?")) {
            throw refused("a storage id names the key '" + abbreviate(key) + "' at '" + abbreviate(location) + "'");
        }
        long length = records.length(key);
        if (length < 0) {
            throw refused("a tensor's storage 'data/" + key + "' is not in the archive");
        }
        if (numel > Long.MAX_VALUE / type.dtype().elementSize || numel * type.dtype().elementSize != length) {
            throw refused("storage 'data/" + key + "' holds " + length + " bytes, not " + numel + " elements of "
                    + type.dtype().scalarType);
        }
        StorageRef ref = new StorageRef(key, type.dtype(), location, numel);
        StorageRef before = storages.putIfAbsent(key, ref);
        if (before != null && !before.equals(ref)) {
            throw refused("storage 'data/" + key + "' is described twice, differently");
        }
        return before != null ? before : ref;
    }

    private Object global(String module, String name) throws PickleException {
        if (module.equals("collections") && name.equals("OrderedDict")) {
            return Global.ORDERED_DICT;
        }
        if (module.equals("torch._utils") && name.equals("_rebuild_tensor_v2")) {
            return Global.REBUILD_TENSOR;
        }
        if (module.equals("torch._utils") && name.equals("_rebuild_parameter")) {
            return Global.REBUILD_PARAMETER;
        }
        if (module.equals("torch")) {
            for (StorageDtype dtype : StorageDtype.values()) {
                if (dtype.global.equals(name)) {
                    return new StorageType(dtype);
                }
            }
        }
        if ((module.equals("__torch__") || module.startsWith("__torch__.")) && name.matches("[A-Za-z0-9_]+")) {
            return new ScriptClass(module + "." + name);
        }
        throw refused("it names the Python global '" + abbreviate(module) + "." + abbreviate(name) + "', which an"
                + " optimizer state never holds (nothing from the file was run)");
    }

    private long[] dims(Object value, String what) throws PickleException {
        if (!(value instanceof Tuple tuple) || tuple.items().size() > MAX_DIMS) {
            throw refused("a tensor's " + what + " are " + describe(value) + ", not a tuple of at most " + MAX_DIMS
                    + " ints");
        }
        long[] out = new long[tuple.items().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = nonNegative(tuple.items().get(i), what);
        }
        return out;
    }

    private long nonNegative(Object value, String what) throws PickleException {
        if (!(value instanceof Long n) || n < 0) {
            throw refused("a tensor's " + what + " is " + describe(value) + ", not an int >= 0");
        }
        return n;
    }

    private Tuple tuple(List<Object> items) throws PickleException {
        Tuple tuple = new Tuple(Collections.unmodifiableList(new ArrayList<>(items)));
        depths.put(tuple, 1);
        for (Object item : items) {
            adopt(tuple, item);
        }
        return tuple;
    }

    private <T> T newContainer(T container) {
        depths.put(container, 1);
        return container;
    }

    private void append(List<Object> list, Object item) throws PickleException {
        requireChangeable(list);
        adopt(list, item);
        list.add(item);
        count();
    }

    private void setItems(Map<Object, Object> dict, List<Object> items) throws PickleException {
        requireChangeable(dict);
        if (items.size() % 2 != 0) {
            throw refused("SETITEMS has an odd number of values");
        }
        for (int i = 0; i < items.size(); i += 2) {
            Object key = items.get(i);
            if (!(key instanceof String) && !(key instanceof Long)) {
                throw refused("a dict key is " + describe(key) + "; torch's files key dicts by strings and ints");
            }
            adopt(dict, items.get(i + 1));
            if (dict.putIfAbsent(key, items.get(i + 1)) != null) {
                throw refused("a dict holds the key " + describe(key) + " twice");
            }
            count();
        }
    }

    /** Records that {@code child} is inside {@code parent}: it may no longer change, and deepens its parent. */
    private void adopt(Object parent, Object child) throws PickleException {
        Integer childDepth = depths.get(child);
        if (childDepth == null) {
            return;
        }
        frozen.put(child, Boolean.TRUE);
        int depth = Math.max(depths.getOrDefault(parent, 1), childDepth + 1);
        if (depth > MAX_DEPTH) {
            throw refused("it nests containers more than " + MAX_DEPTH + " deep");
        }
        depths.put(parent, depth);
    }

    private void requireChangeable(Object container) throws PickleException {
        if (frozen.containsKey(container)) {
            throw refused("it changes a list or dict after placing it inside another");
        }
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object value) throws PickleException {
        if (value instanceof ArrayList<?> list) {
            return (List<Object>) list;
        }
        throw refused("APPEND needs a list, got " + describe(value));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object value) throws PickleException {
        if (value instanceof LinkedHashMap<?, ?> map) {
            return (Map<Object, Object>) map;
        }
        throw refused("SETITEM needs a dict, got " + describe(value));
    }

    private Object memoized(long index) throws PickleException {
        Object value = memo.get(index);
        if (value == null) {
            throw refused("it reads memo entry " + index + ", which was never written");
        }
        return value;
    }

    // --- the stack ----------------------------------------------------------------------------------------------

    private void push(Object value) throws PickleException {
        count();
        stack.add(value);
    }

    private void count() throws PickleException {
        if (++values > MAX_VALUES) {
            throw refused("it builds more than " + MAX_VALUES + " values");
        }
    }

    private Object top() throws PickleException {
        requireStack(1);
        return stack.get(stack.size() - 1);
    }

    private Object pop() throws PickleException {
        Object value = top();
        stack.remove(stack.size() - 1);
        return value;
    }

    private void pop(int n) {
        for (int i = 0; i < n; i++) {
            stack.remove(stack.size() - 1);
        }
    }

    private int requireStack(int n) throws PickleException {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() - floor < n) {
            throw refused("an opcode at byte " + (in.position() - 1) + " needs " + n + (n == 1 ? " value" : " values")
                    + " on the stack");
        }
        return n;
    }

    private List<Object> popToMark() throws PickleException {
        if (marks.isEmpty()) {
            throw refused("an opcode needs a MARK that is not there");
        }
        int mark = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(mark, stack.size()));
        pop(stack.size() - mark);
        return items;
    }

    // --- bytes --------------------------------------------------------------------------------------------------

    private int u8() throws PickleException {
        if (!in.hasRemaining()) {
            throw refused("it is cut short inside an opcode (truncated?)");
        }
        return in.get() & 0xff;
    }

    private int i32() throws PickleException {
        if (in.remaining() < 4) {
            throw refused("it is cut short inside an opcode (truncated?)");
        }
        return in.getInt();
    }

    private byte[] bytes(long n) throws PickleException {
        if (n < 0 || n > in.remaining()) {
            throw refused("a value declares " + (n < 0 ? "more than 2^63" : Long.toString(n)) + " bytes, but only "
                    + in.remaining() + " follow");
        }
        byte[] out = new byte[(int) n];
        in.get(out);
        return out;
    }

    private String string(long n) throws PickleException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes(n))).toString();
        } catch (CharacterCodingException e) {
            throw refused("a string is not UTF-8");
        }
    }

    /** A {@code GLOBAL} argument: ASCII up to a newline, at most 256 bytes. */
    private String line() throws PickleException {
        StringBuilder out = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') {
                return out.toString();
            }
            if (c < 0x20 || c > 0x7e || out.length() >= 256) {
                throw refused("a GLOBAL name is not a short ASCII line");
            }
            out.append((char) c);
        }
    }

    private long longOf(long n) throws PickleException {
        if (n < 0 || n > 8) {
            throw refused("an integer of " + n + " bytes is larger than 64 bits");
        }
        byte[] b = bytes(n);
        long value = 0;
        for (int i = b.length - 1; i >= 0; i--) {
            value = value << 8 | (b[i] & 0xff);
        }
        if (b.length > 0 && b.length < 8 && b[b.length - 1] < 0) {
            value -= 1L << (8 * b.length); // two's complement of fewer than 8 bytes
        }
        return value;
    }

    // --- messages -----------------------------------------------------------------------------------------------

    private PickleException refused(String problem) {
        return new PickleException(problem);
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

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
