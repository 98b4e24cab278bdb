package io.github.optlist.torch;

import io.github.optlist.internal.DeviceDtype;
import io.github.optlist.internal.NativeMemory;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The optimizer's state for one parameter: its step count, both moments and, under
 * {@link StatePrecision#FLOAT32_MASTER_WEIGHTS}, a float32 master copy. The state is created on the parameter's
 * first update on the device and with the strides the parameter has then, in the {@linkplain
 * StatePrecision#stateDtypeFor state dtype} of its dtype; what it was made for is its {@link StateLayout}, and the
 * buffers the update paths write into are its {@link ScratchBuffers}, made for that layout. When the parameter later
 * moves to another device, dtype or layout, {@link #follow} moves the state after it.
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
    private StatePrecision precision;
    /** What the state tensors were made for; null until the state is first made. */
    private StateLayout layout;
    /** The scratch buffers for {@link #layout}; null until the state is first made. */
    private ScratchBuffers buffers;

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
        StateLayout made = StateLayout.of(like, statePrecision);
        Tensor newAvg = null;
        Tensor newAvgSq = null;
        Tensor newMaster = null;
        try {
            newAvg = StateLayout.zerosLike(like, made.stateDtype());
            newAvgSq = StateLayout.zerosLike(like, made.stateDtype());
            if (StatePrecision.keepsMaster(made.dtype(), statePrecision)) {
                newMaster = StateLayout.zerosLike(like, made.stateDtype());
                newMaster.copy_(like);
            }
        } catch (RuntimeException e) {
            // All or nothing: a state with one moment missing would fail at every later step.
            NativeMemory.release(newAvg);
            NativeMemory.release(newAvgSq);
            NativeMemory.release(newMaster);
            throw e;
        }
        precision = statePrecision;
        setLayout(made);
        expAvg = newAvg;
        expAvgSq = newAvgSq;
        master = newMaster;
    }

    /**
     * Records {@code made} and gives the state a new, empty set of scratch buffers for it. Not private so that a test
     * can record a layout the parameter does not have (a state left behind on another device).
     */
    void setLayout(StateLayout made) {
        if (buffers != null) {
            buffers.release();
        }
        layout = made;
        buffers = new ScratchBuffers(param, made.stateDtype());
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
        return follow(DeviceDtype.of(param));
    }

    /** As {@link #follow()}, with {@code now} the parameter's {@link DeviceDtype#of}, read by the caller. */
    boolean follow(DeviceDtype now) {
        int nowDtype = now.dtype();
        if (now.equals(layout.where()) && layout.hasStrides(param)) {
            return false;
        }
        StateLayout after = StateLayout.of(param, precision);
        boolean keepsMaster = StatePrecision.keepsMaster(nowDtype, precision);
        Tensor newAvg = null;
        Tensor newAvgSq = null;
        Tensor newMaster = null;
        try {
            // All moved before any is replaced: a failure (no memory on the device) leaves the old state whole.
            newAvg = moved(expAvg, after.stateDtype());
            newAvgSq = moved(expAvgSq, after.stateDtype());
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
        setLayout(after);
        expAvg = newAvg;
        expAvgSq = newAvgSq;
        master = newMaster;
        return true;
    }

    /** What the state tensors were made for; null until the state is first made. */
    StateLayout layout() {
        return layout;
    }

    /** The scratch buffers of the current layout; null until the state is first made. */
    ScratchBuffers buffers() {
        return buffers;
    }

    /** Whether the update runs on float32 copies of a half-precision parameter and its gradient. */
    boolean widened() {
        return layout.widened();
    }

    /** The tensor the update runs on: the parameter itself, its master copy, or its float32 working copy. */
    Tensor target() {
        if (master != null) {
            return master;
        }
        return widened() ? buffers.work() : param;
    }

    /**
     * The float32 copy of the parameter refreshed from it, under {@code FLOAT32}; null when the update runs on the
     * parameter itself or on the master copy, which need no refresh.
     */
    Tensor workToRefresh() {
        return widened() && master == null ? buffers.work() : null;
    }

    /** {@code old}'s values in a new buffer laid out as the parameter is now, in {@code dtype}; {@code old} is kept. */
    private Tensor moved(Tensor old, int dtype) {
        Tensor moved = StateLayout.zerosLike(param, dtype);
        try {
            moved.copy_(old);
        } catch (RuntimeException e) {
            NativeMemory.release(moved);
            throw e;
        }
        return moved;
    }

    /**
     * The state as a {@link OptimizerState.Param}: fresh copies of its tensors owned by the caller if {@code copy},
     * else
     * the live tensors themselves (for a writer that only reads them before the next step). Called inside a no-grad
     * region.
     */
    OptimizerState.Param dict(boolean copy) {
        if (!initialized()) {
            return new OptimizerState.Param(step, null, null);
        }
        if (!copy) {
            return new OptimizerState.Param(step, expAvg, expAvgSq, master);
        }
        return new OptimizerState.Param(step, expAvg.clone(), expAvgSq.clone(), master == null ? null : master.clone());
    }

    /**
     * Refuses, with an {@link IllegalArgumentException} naming this parameter, a state whose moments are not dense
     * floating-point tensors with values (not on the {@code meta} device) shaped as the parameter. Changes nothing.
     */
    void requireLoadable(OptimizerState.Param state) {
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
    Loaded prepare(OptimizerState.Param state, StatePrecision statePrecision) {
        if (!state.hasMoments()) {
            return new Loaded(state.step(), null, null, null, statePrecision, null);
        }
        StateLayout made = StateLayout.of(param, statePrecision);
        int dtype = made.stateDtype();
        Tensor newAvg = null;
        Tensor newAvgSq = null;
        Tensor newMaster = null;
        try {
            newAvg = moved(state.expAvg(), dtype);
            newAvgSq = moved(state.expAvgSq(), dtype);
            if (StatePrecision.keepsMaster(made.dtype(), statePrecision)) {
                // Without a given master copy the parameter's own value is the best there is.
                newMaster = moved(state.master() != null ? state.master() : param, ScalarType.Float.value);
            }
        } catch (RuntimeException e) {
            NativeMemory.release(newAvg);
            NativeMemory.release(newAvgSq);
            NativeMemory.release(newMaster);
            throw e;
        }
        return new Loaded(state.step(), newAvg, newAvgSq, newMaster, statePrecision, made);
    }

    /** Replaces this state with {@code loaded}, freeing the old tensors; allocates nothing, so it cannot fail. */
    void commit(Loaded loaded) {
        release();
        step = loaded.step();
        if (loaded.expAvg() != null) {
            precision = loaded.precision();
            setLayout(loaded.layout());
            expAvg = loaded.expAvg();
            expAvgSq = loaded.expAvgSq();
            master = loaded.master();
        }
    }

    /**
     * A parameter's state converted by {@link #prepare}, not yet installed, with the layout it was made for (null
     * without moments).
     */
    record Loaded(long step, Tensor expAvg, Tensor expAvgSq, Tensor master, StatePrecision precision,
                  StateLayout layout) {

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
        if (buffers != null) {
            buffers.release();
        }
    }
}
