package io.github.optlist.torch.files;

import io.github.optlist.torch.files.Pickled.PickleException;
import io.github.optlist.torch.files.Pickled.StorageDtype;
import io.github.optlist.torch.files.Pickled.StorageRef;
import io.github.optlist.torch.files.Pickled.TensorRecord;
import io.github.optlist.torch.files.Pickled.Tuple;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.github.optlist.torch.files.Pickled.abbreviate;
import static io.github.optlist.torch.files.Pickled.describe;

/**
 * What torch's files ask {@link Unpickler} to build beyond plain values, checked against the archive: the few
 * Python globals they name ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code torch._utils._rebuild_parameter}, the {@code torch.*Storage} types of {@link StorageDtype}, and
 * TorchScript classes {@code __torch__.*}, recorded, never loaded), the storages their persistent ids name (each
 * checked to be a record of the archive of exactly its size), and the tensors {@code _rebuild_tensor_v2} makes of
 * them (offset, sizes and strides checked, in arithmetic that cannot overflow, to lie within the storage). One per
 * pickle: it remembers the storages seen, so that one key cannot be described two ways.
 */
final class TensorRebuild {

    /** The most dimensions a tensor may have (LibTorch's own limit is 64 too, for most kernels). */
    static final int MAX_DIMS = 64;

    /** The allowed callables; {@link Unpickler} makes an {@code OrderedDict} itself. */
    enum Global { ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER }

    /** A {@code torch.*Storage} global, named in a persistent id. */
    record StorageType(StorageDtype dtype) {
    }

    /** A TorchScript class, which {@code NEWOBJ} makes an inert {@link Pickled.ScriptObject} of. */
    record ScriptClass(String name) {
    }

    /** The byte length of the archive's record {@code data/<key>}, or -1 when there is none. */
    interface Records {
        long length(String key);
    }

    private final Records records;
    private final Map<String, StorageRef> storages = new HashMap<>();

    TensorRebuild(Records records) {
        this.records = records;
    }

    /**
     * The tensor {@code callable} (a {@link Global} other than {@code ORDERED_DICT}) makes of {@code args}.
     *
     * @throws PickleException if the arguments are not a tensor's, or describe one outside its storage
     */
    TensorRecord reduce(Global callable, List<Object> args) throws PickleException {
        if (callable == Global.REBUILD_TENSOR) {
            if (args.size() < 6 || args.size() > 7) {
                throw refused("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + args.size());
            }
            return tensor(args.get(0), args.get(1), args.get(2), args.get(3));
        }
        if (args.size() != 3 || !(args.get(0) instanceof TensorRecord data)) {
            throw refused("_rebuild_parameter takes a tensor and two more arguments");
        }
        return data;
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

    /** The storage a persistent id names, checked against the archive's record. */
    StorageRef storage(Object pid) throws PickleException {
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

    /** The global {@code module.name} if a torch file may name it, else refused. */
    Object global(String module, String name) throws PickleException {
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

    private static PickleException refused(String problem) {
        return new PickleException(problem);
    }
}
