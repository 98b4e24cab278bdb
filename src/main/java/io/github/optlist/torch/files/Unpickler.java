package io.github.optlist.torch.files;

import io.github.optlist.torch.files.Pickled.PickleException;
import io.github.optlist.torch.files.Pickled.ScriptObject;
import io.github.optlist.torch.files.Pickled.Tuple;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.github.optlist.torch.files.Pickled.NONE;
import static io.github.optlist.torch.files.Pickled.describe;

/**
 * A pickle reader that runs nothing from the file: the subset of the pickle protocol (versions 2 to 5) that
 * {@code torch.save} and LibTorch's archives write, building the plain values of {@link Pickled}, as PyTorch's
 * {@code torch.load(weights_only=True)} does in spirit. The globals a file may name, its storages and its tensors are
 * {@link TensorRebuild}'s to allow and check; any other global is refused before anything is built from it.
 * Everything the file says about itself is bounded: strings by the bytes left, nesting by {@link #MAX_DEPTH}, the
 * values built by {@link #MAX_VALUES}, integers by 64 bits. A container cannot change once it is inside another, so
 * no value is cyclic and depths are exact.
 */
final class Unpickler {

    /** The deepest nesting of containers read; the formats read here nest five deep. */
    static final int MAX_DEPTH = 100;
    /** The most values one pickle may build: a state dict of about 80 000 parameters. */
    static final int MAX_VALUES = 4_000_000;

    private final PickleInput in;
    private final TensorRebuild rebuild;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    /** Each list, dict and tuple's nesting depth (1 for one holding no container). */
    private final Map<Object, Integer> depths = new IdentityHashMap<>();
    /** The containers placed inside another, which may no longer change. */
    private final Map<Object, Boolean> frozen = new IdentityHashMap<>();
    private long values;

    private Unpickler(byte[] pickle, TensorRebuild.Records records) {
        this.in = new PickleInput(pickle);
        this.rebuild = new TensorRebuild(records);
    }

    /**
     * The value {@code pickle} holds.
     *
     * @param records the lengths of the archive's tensor records, which every tensor is checked against
     * @throws PickleException if the pickle is malformed, names a global outside the allowed ones, exceeds a bound,
     *                         or describes a tensor reaching outside its record
     */
    static Object load(byte[] pickle, TensorRebuild.Records records) throws PickleException {
        return new Unpickler(pickle, records).run();
    }

    private Object run() throws PickleException {
        while (true) {
            if (!in.hasRemaining()) {
                throw refused("it ends without a STOP opcode (truncated?)");
            }
            int at = in.position();
            int op = in.u8();
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
                int version = in.u8();
                if (version < 2 || version > 5) {
                    throw refused("it uses pickle protocol " + version + ", torch writes 2");
                }
            }
            case 0x95 -> in.bytes(8); // FRAME: a length hint
            case '(' -> {
                count();
                marks.add(stack.size());
            }
            case 'N' -> push(NONE);
            case 0x88 -> push(Boolean.TRUE);
            case 0x89 -> push(Boolean.FALSE);
            case 'J' -> push((long) in.i32());
            case 'K' -> push((long) in.u8());
            case 'M' -> push((long) (in.u8() | in.u8() << 8));
            case 0x8a -> push(in.longOf(in.u8()));
            case 0x8b -> push(in.longOf(in.i32()));
            case 'G' -> push(ByteBuffer.wrap(in.bytes(8)).getDouble()); // big-endian
            case 'X' -> push(in.string(in.i32() & 0xffffffffL));
            case 0x8c -> push(in.string(in.u8()));
            case 0x8d -> push(in.string(in.i32() & 0xffffffffL | (long) in.i32() << 32));
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
            case 'q' -> memo.put((long) in.u8(), top());
            case 'r' -> memo.put(in.i32() & 0xffffffffL, top());
            case 0x94 -> memo.put((long) memo.size(), top());
            case 'h' -> push(memoized(in.u8()));
            case 'j' -> push(memoized(in.i32() & 0xffffffffL));
            case 'c' -> push(rebuild.global(in.line(), in.line()));
            case 0x93 -> {
                Object name = pop();
                Object module = pop();
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw refused("STACK_GLOBAL needs two strings");
                }
                push(rebuild.global(m, n));
            }
            case 'R' -> {
                Object args = pop();
                Object callable = pop();
                push(reduce(callable, args));
            }
            case 0x81 -> {
                Object args = pop();
                Object type = pop();
                if (!(type instanceof TensorRebuild.ScriptClass script) || !(args instanceof Tuple tuple)
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
            case 'Q' -> push(rebuild.storage(pop()));
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
        if (callable == TensorRebuild.Global.ORDERED_DICT) {
            if (!tuple.items().isEmpty()) {
                throw refused("OrderedDict is built without arguments in torch's files");
            }
            return newContainer(new LinkedHashMap<>());
        }
        if (callable instanceof TensorRebuild.Global global) {
            return rebuild.reduce(global, tuple.items());
        }
        throw refused("REDUCE calls " + describe(callable) + ", which is not callable here");
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

    // --- messages -----------------------------------------------------------------------------------------------

    private PickleException refused(String problem) {
        return new PickleException(problem);
    }
}
