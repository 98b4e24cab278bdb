package io.github.optlist.distributed;

import io.github.optlist.internal.Messages;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The ranks training together, as torch's default process group: a c10d {@link TCPStore} served by rank 0 for
 * the rendezvous, and a Gloo (CPU) or NCCL (CUDA) backend for the collectives. Every wait (joining, each
 * collective, barriers) is bounded by the settings' timeout; what fails or times out is reported as a
 * {@link DistributedException} saying what to check, never as a hang.
 *
 * <pre>{@code
 * try (TrainingGroup group = TrainingGroup.fromEnvironment()) {   // started by 'bin/opt-list launch' or torchrun
 *     ...
 * }
 * }</pre>
 *
 * <p>Joining checks, through the store and before the backend connects, that every rank names the same world size
 * and that no rank joins twice; a rank that does not join within the timeout is named in rank 0's error.
 *
 * <p>The store has no authentication, as in torch.distributed: whoever reaches its port can read and change the
 * group's keys. When the master address is a loopback address (always so for {@code bin/opt-list launch}), rank 0
 * serves it on that address only, so that it is out of reach of other machines (on Linux and macOS; elsewhere it
 * listens on every interface, as c10d's own server does). A group over several machines serves it on every
 * interface: run it on a trusted network only.
 *
 * <p>When a collective times out, the rank says which ranks stopped answering: it records its failure in the store
 * and waits up to {@value #REPORT_WINDOW_MILLIS} ms for the others to record theirs; the ranks that do not are named
 * in its error (and reported to {@link Launcher}, which names them rather than the rank that timed out).
 *
 * <p>The native store is handed to the backend as a {@code clone()}: a store object given to a C++ constructor is
 * adopted by C++, and giving the same one twice aborts the JVM; this group keeps the original referenced for its
 * whole life.
 *
 * <p>Not thread-safe: one training loop drives one group. After a {@link DistributedException} the group is broken
 * (peers may be gone or out of step): close it and end the process.
 */
public final class TrainingGroup implements AutoCloseable {

    /** The prefix of this library's keys in the store. */
    static final String KEY_PREFIX = "opt-list/";

    /** How long a rank whose collective timed out waits for the other ranks to record their failure. */
    static final long REPORT_WINDOW_MILLIS = 5000;

    /**
     * Set by {@link Launcher}: the folder in which a failed rank names the ranks that stopped answering, in
     * {@code rank-<r>.missing} (the ranks, comma-separated).
     */
    static final String REPORTS_ENV = "OPT_LIST_LAUNCH_REPORTS";

    private final GroupSettings settings;
    /** The original store, kept referenced for the group's life; the backend holds a clone. */
    private final Store store;
    private final Backend backend;
    /** Native objects the backend was built from, referenced as long as it lives. */
    private final List<Object> keepAlive = new ArrayList<>();
    private final long timeoutMillis;
    private boolean broken;
    private boolean closed;

    private TrainingGroup(GroupSettings settings, Store store, Backend backend, List<Object> keepAlive) {
        this.settings = settings;
        this.store = store;
        this.backend = backend;
        this.keepAlive.addAll(keepAlive);
        this.timeoutMillis = settings.timeout().toMillis();
    }

    /**
     * Joins the group this process's torchrun environment variables describe, on Gloo, with the
     * {@linkplain GroupSettings#DEFAULT_TIMEOUT default timeout}.
     *
     * @throws IllegalArgumentException if a variable is missing or wrong; nothing is started then
     * @throws DistributedException     as {@link #join(GroupSettings)}
     */
    public static TrainingGroup fromEnvironment() {
        return join(GroupSettings.fromEnvironment(GroupSettings.Backend.GLOO, GroupSettings.DEFAULT_TIMEOUT));
    }

    /**
     * Joins the group: rank 0 serves the store at {@code masterAddr:masterPort}, the others connect to it; all check
     * that they agree on the world size, then connect the backend. Returns when every rank has joined.
     *
     * @throws IllegalArgumentException if {@code settings} is null
     * @throws DistributedException     if the master cannot be reached (or, on rank 0, its port cannot be bound),
     *                                  a rank does not join within the timeout, ranks disagree on the world size,
     *                                  a rank joins twice, or the backend cannot connect (or, for NCCL, is not
     *                                  in this build, or this machine has no CUDA device {@code localRank}: refused
     *                                  before the store is opened)
     */
    public static TrainingGroup join(GroupSettings settings) {
        if (settings == null) {
            throw new IllegalArgumentException("settings must not be null");
        }
        Rendezvous.Joined joined = Rendezvous.join(settings);
        return new TrainingGroup(settings, joined.store(), joined.backend(), joined.keepAlive());
    }


    /** This process's settings. */
    public GroupSettings settings() {
        return settings;
    }

    /** This process's rank, in {@code [0, worldSize())}. */
    public int rank() {
        return settings.rank();
    }

    /** The number of ranks. */
    public int worldSize() {
        return settings.worldSize();
    }

    /** The rank on this machine (the CUDA device index under NCCL). */
    public int localRank() {
        return settings.localRank();
    }

    /**
     * Sums {@code tensor} over all ranks, in place; every rank must call it with a tensor of the same shape and dtype.
     * A non-contiguous tensor travels through a contiguous copy (the backends send its memory as laid out).
     *
     * @throws IllegalArgumentException if {@code tensor} is null, undefined or sparse; nothing is sent then
     * @throws DistributedException     if a rank is gone or the timeout passes
     */
    public void allReduceSum(Tensor tensor) {
        requireDense(tensor);
        allReduce(tensor, ReduceOp.RedOpType.SUM, "allReduceSum");
    }

    /** As {@link #allReduceSum} with another reduction; for this package's checks. */
    void allReduce(Tensor tensor, ReduceOp.RedOpType op, String what) {
        requireUsable();
        try (PointerScope scope = new PointerScope()) {
            AllreduceOptions options = new AllreduceOptions();
            options.reduceOp(new ReduceOp(op));
            options.timeout(new Milliseconds(timeoutMillis));
            Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
            await(backend.allreduce(new TensorVector(buffer), options), what);
            if (buffer != tensor) {
                copyBack(tensor, buffer);
            }
        } catch (DistributedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw failure(what, e, timedOut(e));
        }
    }

    /**
     * Overwrites {@code tensor} on every rank with rank {@code root}'s; every rank must call it with a tensor of the
     * same shape and dtype. A non-contiguous tensor travels through a contiguous copy (NCCL refuses it, and Gloo
     * would send its memory as laid out), copied back on the receiving ranks.
     *
     * @throws IllegalArgumentException if {@code root} is not a rank, or {@code tensor} is null, undefined or sparse;
     *                                  nothing is sent then
     * @throws DistributedException     if a rank is gone or the timeout passes
     */
    public void broadcast(Tensor tensor, int root) {
        if (root < 0 || root >= worldSize()) {
            throw new IllegalArgumentException("root must be in [0, " + worldSize() + "), got " + root);
        }
        requireDense(tensor);
        requireUsable();
        String what = "broadcast from rank " + root;
        try (PointerScope scope = new PointerScope()) {
            BroadcastOptions options = new BroadcastOptions();
            options.rootRank(root);
            options.timeout(new Milliseconds(timeoutMillis));
            Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
            await(backend.broadcast(new TensorVector(buffer), options), what);
            if (buffer != tensor && rank() != root) {
                copyBack(tensor, buffer);
            }
        } catch (DistributedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw failure(what, e, timedOut(e));
        }
    }

    private static void requireDense(Tensor tensor) {
        if (tensor == null || tensor.isNull() || !tensor.defined()) {
            throw new IllegalArgumentException("tensor must not be null or undefined");
        }
        if (tensor.is_sparse()) {
            throw new IllegalArgumentException("tensor must be dense, got a sparse one");
        }
    }

    /** Writes the collective's result back into the caller's tensor, without recording it for autograd. */
    private static void copyBack(Tensor tensor, Tensor buffer) {
        try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            tensor.copy_(buffer);
        }
    }

    /**
     * Returns when every rank has called it.
     *
     * @throws DistributedException if a rank is gone or the timeout passes
     */
    public void barrier() {
        requireUsable();
        try (PointerScope scope = new PointerScope()) {
            await(backend.barrier(), "barrier");
        } catch (DistributedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw failure("barrier", e, timedOut(e));
        }
    }

    private void await(Work work, String what) {
        if (!work._wait(new Milliseconds(timeoutMillis))) {
            throw failure(what, new IllegalStateException("not completed after " + seconds(settings.timeout())),
                    true);
        }
    }

    /** Whether a backend's error is its timeout (Gloo: "Timed out waiting ...", NCCL's watchdog: "timeout"). */
    private static boolean timedOut(RuntimeException e) {
        String message = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return message.contains("timed out") || message.contains("timeout");
    }

    private DistributedException failure(String what, RuntimeException e, boolean timedOut) {
        broken = true;
        String missing = "";
        if (timedOut && worldSize() > 1) {
            missing = new FailureReports(store, settings).whoStopped();
        }
        return new DistributedException("rank " + rank() + " of " + worldSize() + ": " + what + " failed (a rank"
                + " stopped, crashed or is out of step; timeout " + seconds(settings.timeout()) + "): "
                + Messages.firstLine(e) + missing, e);
    }


    private void requireUsable() {
        if (closed) {
            throw new IllegalStateException("this training group is closed");
        }
        if (broken) {
            throw new IllegalStateException("this training group is broken by an earlier failure; close it and end"
                    + " the process");
        }
    }

    /** Whether a collective of this group has failed; a broken group refuses further collectives. */
    public boolean isBroken() {
        return broken;
    }

    /**
     * Leaves the group. A healthy group frees its backend and store; a broken one leaves them to process exit, as
     * tearing down a backend whose peers are gone can block.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!broken) {
            backend.deallocate();
            keepAlive.clear();
            store.deallocate();
        }
    }

    static String seconds(Duration duration) {
        long millis = duration.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis / 1000.0 + " s";
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
