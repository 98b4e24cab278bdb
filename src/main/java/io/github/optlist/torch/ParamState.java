package io.github.optlist.torch;

import io.github.optlist.internal.DeviceDtype;
import io.github.optlist.internal.NativeMemory;
import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import static org.bytedeco.pytorch.global.torch.zeros_like;

/**
 * The optimizer's state for one parameter: its step count, both moments, a float32 master copy under
 * {@link StatePrecision#FLOAT32_MASTER_WEIGHTS}, and the scratch buffers the update paths write into so that a step
 * allocates nothing. The state is created on the parameter's first update on the device and with the strides the
 * parameter has then, in the {@linkplain StatePrecision#stateDtypeFor state dtype} of its dtype; a scratch buffer
 * only when a path first needs it. When the parameter later moves to another device, dtype or layout,
 * {@link #follow} moves the state after it.
 */
final class ParamState {

    final Tensor param;
    /** Where the parameter stands, e.g. {@code params[2] of group 0}, for messages. */
    final String position;
    /** Number of updates applied to this parameter; the next update is step {@code step} (0-based). */
    long step;
    Tensor expAvg;
    Tensor expAvgSq;
    /** The float32 master copy of a half-precision parameter under {@code FLOAT32_MASTER_WEIGHTS}, else null. */
    Tensor master;
    /** The parameter's device and dtype when the state was created or moved. */
    DeviceDtype where;
    /** The parameter's {@code ScalarType} value when the state was created or moved. */
    int dtype;
    /** The parameter's device as a name, e.g. {@code cuda:0}, when the state was created or moved. */
    String deviceName;
    /** The {@code ScalarType} value of the moments and of the arithmetic: float32 for half parameters by default. */
    int stateDtype;
    /** The parameter's strides when the state was created or moved; the state tensors have the same if it is dense. */
    private long[] strides;
    /** The parameter's sizes when the state was created or moved: the state tensors' sizes. */
    private long[] shape;
    /** Whether the parameter was dense and non-overlapping when the state was created or moved. */
    private boolean dense;
    private StatePrecision precision;
    /** {@code sqrt(v) + epsilon} on the single- and multi-tensor paths, the Nesterov numerator on the fused one. */
    private Tensor scratch;
    /** {@code grad - l2 * p} on the single- and multi-tensor paths, for configurations with an L2 term. */
    private Tensor l2Gradient;
    /** The float32 copy of a half-precision parameter the update runs on under {@code FLOAT32}. */
    private Tensor work;
    /** The float32 copy of a half-precision parameter's gradient. */
    private Tensor gradWork;

    ParamState(Tensor param, String position) {
        this.param = param;
        this.position = position;
    }

    boolean initialized() {
        return expAvg != null;
    }

    /** Allocates the moments (and the master copy) for the parameter as it is now; called inside a no-grad region. */
    void initialize(StatePrecision statePrecision) {
        Tensor like = param;
        StatePrecision before = precision;
        precision = statePrecision;
        int stateDtypeBefore = stateDtype;
        stateDtype = StatePrecision.stateDtypeFor(like.scalar_type().value, statePrecision);
        Tensor newAvg = null;
        Tensor newAvgSq = null;
        Tensor newMaster = null;
        try {
            newAvg = newBuffer(like);
            newAvgSq = newBuffer(like);
            if (StatePrecision.keepsMaster(like.scalar_type().value, precision)) {
                newMaster = newBuffer(like);
                newMaster.copy_(like);
            }
        } catch (RuntimeException e) {
            // All or nothing: a state with one moment missing would fail at every later step.
            NativeMemory.release(newAvg);
            NativeMemory.release(newAvgSq);
            NativeMemory.release(newMaster);
            precision = before;
            stateDtype = stateDtypeBefore;
            throw e;
        }
        record(like);
        expAvg = newAvg;
        expAvgSq = newAvgSq;
        master = newMaster;
    }

    private void record(Tensor tensor) {
        where = DeviceDtype.of(tensor);
        dtype = where.dtype();
        deviceName = tensor.device().str().getString();
        strides = strides(tensor);
        shape = sizes(tensor);
        dense = tensor.is_non_overlapping_and_dense();
        stateDtype = StatePrecision.stateDtypeFor(dtype, precision);
    }

    /**
     * Moves and casts the state after its parameter when the parameter's device, dtype or strides changed since the
     * state was created, as torch's {@code load_state_dict} casts state to its parameter: the moments keep their
     * values (rounded when the state dtype narrows), the master copy is kept while the parameter stays in half
     * precision, taken from the parameter when it becomes half, and dropped when it no longer is. Scratch buffers
     * are dropped and made again on first use. Called inside a no-grad region.
     *
     * @return whether anything moved, so that tensor lists holding the old tensors must be rebuilt
     */
    boolean follow() {
        DeviceDtype now = DeviceDtype.of(param);
        int nowDtype = now.dtype();
        if (now.equals(where) && hasStrides(param)) {
            return false;
        }
        int nowStateDtype = StatePrecision.stateDtypeFor(nowDtype, precision);
        boolean keepsMaster = StatePrecision.keepsMaster(nowDtype, precision);
        Tensor newAvg = null;
        Tensor newAvgSq = null;
        Tensor newMaster = null;
        try {
            // All moved before any is replaced: a failure (no memory on the device) leaves the old state whole.
            newAvg = moved(expAvg, nowStateDtype);
            newAvgSq = moved(expAvgSq, nowStateDtype);
            if (keepsMaster) {
                newMaster = moved(master != null ? master : param, ScalarType.Float.value);
            }
        } catch (RuntimeException e) {
            NativeMemory.release(newAvg);
            NativeMemory.release(newAvgSq);
            NativeMemory.release(newMaster);
            throw e;
        }
        NativeMemory.release(expAvg);
        NativeMemory.release(expAvgSq);
        NativeMemory.release(master);
        record(param);
        expAvg = newAvg;
        expAvgSq = newAvgSq;
        master = newMaster;
        releaseScratch();
        return true;
    }

    /** Whether the update runs on float32 copies of a half-precision parameter and its gradient. */
    boolean widened() {
        return stateDtype != dtype;
    }

    /** The tensor the update runs on: the parameter itself, its master copy, or its float32 working copy. */
    Tensor target() {
        if (master != null) {
            return master;
        }
        return widened() ? work() : param;
    }

    /**
     * The float32 copy of the parameter refreshed from it, under {@code FLOAT32}; null when the update runs on the
     * parameter itself or on the master copy, which need no refresh.
     */
    Tensor workToRefresh() {
        return widened() && master == null ? work() : null;
    }

    /** The float32 working copy of the parameter, allocated on first use. */
    Tensor work() {
        if (work == null) {
            work = newBuffer();
        }
        return work;
    }

    /** The float32 buffer a widened update copies the gradient into, allocated on first use. */
    Tensor gradWork() {
        if (gradWork == null) {
            gradWork = newBuffer();
        }
        return gradWork;
    }

    /** The parameter-sized scratch buffer in the state dtype, allocated on first use. */
    Tensor scratch() {
        if (scratch == null) {
            scratch = newBuffer();
        }
        return scratch;
    }

    /** The buffer for {@code grad - l2 * p} in the state dtype, allocated on first use. */
    Tensor l2Gradient() {
        if (l2Gradient == null) {
            l2Gradient = newBuffer();
        }
        return l2Gradient;
    }

    /** A zero tensor shaped, strided and placed as the parameter, in the state dtype. */
    private Tensor newBuffer() {
        return newBuffer(param);
    }

    private Tensor newBuffer(Tensor like) {
        return NativeMemory.outliveScope(zeros_like(like, options(stateDtype, like), new MemoryFormatOptional()));
    }

    /** {@code old}'s values in a new buffer laid out as the parameter is now, in {@code dtype}; {@code old} is kept. */
    private Tensor moved(Tensor old, int dtype) {
        Tensor moved = NativeMemory.outliveScope(zeros_like(param, options(dtype, param),
                new MemoryFormatOptional()));
        try {
            moved.copy_(old);
        } catch (RuntimeException e) {
            NativeMemory.release(moved);
            throw e;
        }
        return moved;
    }

    private static TensorOptions options(int dtype, Tensor on) {
        return new TensorOptions(ScalarTypes.of(dtype)).device(new DeviceOptional(on.device()));
    }

    /** The parameter's strides when the state was created or last moved, which the state tensors share. */
    long[] strides() {
        return strides;
    }

    /** The sizes of the state tensors (the parameter's when the state was created or last moved). */
    long[] shape() {
        return shape;
    }

    /**
     * Whether {@code tensor} has the sizes the state was made for; reads them one by one, without the native
     * {@code ArrayRef} (and its Java wrapper) that {@code sizes()} would allocate per tensor and step.
     */
    boolean hasShape(Tensor tensor) {
        if (tensor.dim() != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (tensor.size(i) != shape[i]) {
                return false;
            }
        }
        return true;
    }

    /** Whether the parameter is dense and non-overlapping, as it was when the state was created or last moved. */
    boolean dense() {
        return dense;
    }

    /** Whether {@code tensor} has the strides recorded for the parameter; reads them without allocating. */
    boolean hasStrides(Tensor tensor) {
        if (tensor.dim() != strides.length) {
            return false;
        }
        for (int i = 0; i < strides.length; i++) {
            if (tensor.stride(i) != strides[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code grad}, of the parameter's shape, lays its elements out in memory as the state does: the same
     * strides in every dimension longer than 1 (a dimension of size 1 is never stepped over, whatever its stride).
     */
    boolean laidOutAsState(Tensor grad) {
        if (grad.dim() != strides.length) {
            return false;
        }
        for (int i = 0; i < strides.length; i++) {
            if (grad.stride(i) != strides[i] && grad.size(i) != 1) {
                return false;
            }
        }
        return true;
    }

    /** The strides, read with calls that return plain values: no native object to make and free. */
    static long[] strides(Tensor tensor) {
        long[] out = new long[(int) tensor.dim()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tensor.stride(i);
        }
        return out;
    }

    /** The sizes, read with calls that return plain values. */
    static long[] sizes(Tensor tensor) {
        long[] out = new long[(int) tensor.dim()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tensor.size(i);
        }
        return out;
    }

    private void releaseScratch() {
        NativeMemory.release(scratch);
        NativeMemory.release(l2Gradient);
        NativeMemory.release(work);
        NativeMemory.release(gradWork);
        scratch = l2Gradient = work = gradWork = null;
    }

    /**
     * The state as a {@link ParamStateDict}: fresh copies of its tensors owned by the caller if {@code copy}, else
     * the live tensors themselves (for a writer that only reads them before the next step). Called inside a no-grad
     * region.
     */
    ParamStateDict dict(boolean copy) {
        if (!initialized()) {
            return new ParamStateDict(step, null, null);
        }
        if (!copy) {
            return new ParamStateDict(step, expAvg, expAvgSq, master);
        }
        return new ParamStateDict(step, expAvg.clone(), expAvgSq.clone(), master == null ? null : master.clone());
    }

    /**
     * Refuses, with an {@link IllegalArgumentException} naming this parameter, a state whose moments are not dense
     * floating-point tensors with values (not on the {@code meta} device) shaped as the parameter. Changes nothing.
     */
    void requireLoadable(ParamStateDict state) {
        if (state == null) {
            throw new IllegalArgumentException("the state of " + position + " must not be null");
        }
        if (!state.hasMoments()) {
            return;
        }
        for (Tensor tensor : state.master() == null ? new Tensor[]{state.expAvg(), state.expAvgSq()}
                : new Tensor[]{state.expAvg(), state.expAvgSq(), state.master()}) {
            if (!java.util.Arrays.equals(tensor.shape(), param.shape())) {
                throw new IllegalArgumentException(position + " has shape "
                        + java.util.Arrays.toString(param.shape()) + ", the given moments "
                        + java.util.Arrays.toString(tensor.shape()));
            }
            if (!tensor.is_floating_point()) {
                throw new IllegalArgumentException("the moments for " + position + " must be floating point, got "
                        + tensor.scalar_type());
            }
            requireValues(tensor, position);
        }
    }

    /**
     * Refuses, with an {@link IllegalArgumentException} naming {@code position}, a state tensor without values to
     * copy: on the {@code meta} device, without storage, or sparse.
     */
    static void requireValues(Tensor tensor, String position) {
        if (tensor.is_meta() || !tensor.has_storage() || tensor.is_sparse()) {
            throw new IllegalArgumentException("the state of " + position + " holds no values to load (a "
                    + (tensor.is_sparse() ? "sparse tensor" : "tensor on device " + tensor.device().str().getString())
                    + ")");
        }
    }

    /**
     * New state tensors holding {@code state} (checked with {@link #requireLoadable}), converted to the
     * parameter's device, layout and state dtype under {@code statePrecision}, made without changing this state:
     * {@link #commit} installs them, {@link Loaded#release} drops them. Without a master copy in {@code state}, one
     * kept under {@code statePrecision} is taken from the parameter. Called inside a no-grad region.
     *
     * @throws RuntimeException if LibTorch cannot allocate or convert (nothing allocated is kept then)
     */
    Loaded prepare(ParamStateDict state, StatePrecision statePrecision) {
        if (!state.hasMoments()) {
            return new Loaded(state.step(), null, null, null, statePrecision);
        }
        int paramDtype = param.scalar_type().value;
        int dtype = StatePrecision.stateDtypeFor(paramDtype, statePrecision);
        Tensor newAvg = null;
        Tensor newAvgSq = null;
        Tensor newMaster = null;
        try {
            newAvg = moved(state.expAvg(), dtype);
            newAvgSq = moved(state.expAvgSq(), dtype);
            if (StatePrecision.keepsMaster(paramDtype, statePrecision)) {
                // Without a given master copy the parameter's own value is the best there is.
                newMaster = moved(state.master() != null ? state.master() : param, ScalarType.Float.value);
            }
        } catch (RuntimeException e) {
            NativeMemory.release(newAvg);
            NativeMemory.release(newAvgSq);
            NativeMemory.release(newMaster);
            throw e;
        }
        return new Loaded(state.step(), newAvg, newAvgSq, newMaster, statePrecision);
    }

    /** Replaces this state with {@code loaded}, freeing the old tensors; allocates nothing, so it cannot fail. */
    void commit(Loaded loaded) {
        release();
        step = loaded.step();
        if (loaded.expAvg() != null) {
            precision = loaded.precision();
            record(param);
            expAvg = loaded.expAvg();
            expAvgSq = loaded.expAvgSq();
            master = loaded.master();
        }
    }

    /** A parameter's state converted by {@link #prepare}, not yet installed. */
    record Loaded(long step, Tensor expAvg, Tensor expAvgSq, Tensor master, StatePrecision precision) {

        /** Frees the tensors of a state that will not be installed. */
        void release() {
            NativeMemory.release(expAvg);
            NativeMemory.release(expAvgSq);
            NativeMemory.release(master);
        }
    }

    /** Frees the state tensors; the parameter itself belongs to its group. */
    void release() {
        NativeMemory.release(expAvg);
        NativeMemory.release(expAvgSq);
        NativeMemory.release(master);
        expAvg = expAvgSq = master = null;
        releaseScratch();
    }
}
