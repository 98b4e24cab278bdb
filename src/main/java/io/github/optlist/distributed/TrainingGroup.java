package io.github.optlist.distributed;

import io.github.optlist.internal.Messages;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
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
 * <p>The native store is handed to the backend as a {@code clone()}: a store object given to a C++ constructor is
 * adopted by C++, and giving the same one twice aborts the JVM; this group keeps the original referenced for its
 * whole life.
 *
 * <p>Not thread-safe: one training loop drives one group. After a {@link DistributedException} the group is broken
 * (peers may be gone or out of step): close it and end the process.
 */
public final class TrainingGroup implements AutoCloseable {

    private static final String KEY_PREFIX = "opt-list/";

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
        return join(GroupSettings.fromEnvironment(DistributedBackend.GLOO, GroupSettings.DEFAULT_TIMEOUT));
    }

    /**
     * Joins the group: rank 0 serves the store at {@code masterAddr:masterPort}, the others connect to it; all check
     * that they agree on the world size, then connect the backend. Returns when every rank has joined.
     *
     * @throws IllegalArgumentException if {@code settings} is null
     * @throws DistributedException     if the master cannot be reached (or, on rank 0, its port cannot be bound),
     *                                  a rank does not join within the timeout, ranks disagree on the world size,
     *                                  a rank joins twice, or the backend cannot connect (or, for NCCL, is not
     *                                  in this build)
     */
    public static TrainingGroup join(GroupSettings settings) {
        if (settings == null) {
            throw new IllegalArgumentException("settings must not be null");
        }
        String where = settings.masterAddr() + ":" + settings.masterPort();
        Store store = openStore(settings, where);
        try {
            agreeOnWorldSize(store, settings);
            List<Object> keepAlive = new ArrayList<>();
            Backend backend = settings.backend() == DistributedBackend.GLOO
                    ? gloo(store, settings, keepAlive) : Nccl.create(store, settings, keepAlive);
            return new TrainingGroup(settings, store, backend, keepAlive);
        } catch (RuntimeException e) {
            // Rank 0 keeps serving the store a moment so that peers read its verdict instead of a dropped connection.
            if (settings.rank() == 0 && settings.worldSize() > 1) {
                sleepQuietly(Math.min(2000, settings.timeout().toMillis()));
            }
            // Frees the store (and on rank 0 its port): a refused join leaves nothing behind.
            store.deallocate();
            throw e;
        }
    }

    private static Store openStore(GroupSettings settings, String where) {
        TCPStoreOptions options = new TCPStoreOptions();
        options.port((short) settings.masterPort());
        options.isServer(settings.rank() == 0);
        options.waitWorkers(false);
        options.timeout(new Milliseconds(settings.timeout().toMillis()));
        try {
            TCPStore store = new TCPStore(settings.masterAddr(), options);
            store.setTimeout(new Milliseconds(settings.timeout().toMillis()));
            return store;
        } catch (RuntimeException e) {
            String what = settings.rank() == 0
                    ? "rank 0 cannot serve the rendezvous store on " + where + " (port in use? address not local?)"
                    : "rank " + settings.rank() + " cannot reach the master at " + where + " within "
                    + seconds(settings.timeout()) + " (is rank 0 running, are MASTER_ADDR and MASTER_PORT right?)";
            throw new DistributedException(what + ": " + Messages.firstLine(e), e);
        }
    }

    /** Every rank publishes its world size; rank 0 checks all of them, the others check rank 0's. */
    private static void agreeOnWorldSize(Store store, GroupSettings settings) {
        int rank = settings.rank();
        int world = settings.worldSize();
        try {
            long joins = store.add(KEY_PREFIX + "joined/" + rank, 1);
            if (joins > 1) {
                throw new DistributedException("rank " + rank + " joined twice: two processes were given RANK=" + rank);
            }
            store.set(KEY_PREFIX + "world/" + rank, Integer.toString(world));
            if (rank != 0) {
                int masterWorld = Integer.parseInt(store.get_to_str(KEY_PREFIX + "world/0"));
                if (masterWorld != world) {
                    throw new DistributedException("ranks disagree on the world size: rank 0 has " + masterWorld
                            + ", rank " + rank + " has " + world + " (check WORLD_SIZE on every rank)");
                }
                return;
            }
            long deadline = System.nanoTime() + settings.timeout().toNanos();
            List<Integer> missing = new ArrayList<>();
            for (int r = 1; r < world; r++) {
                missing.add(r);
            }
            while (!missing.isEmpty()) {
                for (var it = missing.iterator(); it.hasNext(); ) {
                    int r = it.next();
                    String key = KEY_PREFIX + "world/" + r;
                    try (PointerScope scope = new PointerScope()) {
                        if (store.check(new org.bytedeco.pytorch.StringVector(key))) {
                            int theirs = Integer.parseInt(store.get_to_str(key));
                            if (theirs != world) {
                                throw new DistributedException("ranks disagree on the world size: rank 0 has "
                                        + world + ", rank " + r + " has " + theirs
                                        + " (check WORLD_SIZE on every rank)");
                            }
                            it.remove();
                        }
                    }
                }
                if (!missing.isEmpty()) {
                    if (System.nanoTime() > deadline) {
                        throw new DistributedException("ranks " + missing + " of " + world + " did not join within "
                                + seconds(settings.timeout()) + " (were they started, with WORLD_SIZE=" + world
                                + " and the same MASTER_ADDR and MASTER_PORT?)");
                    }
                    sleepQuietly(20);
                }
            }
        } catch (DistributedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DistributedException("rank " + rank + " could not agree on the world size with rank 0 within "
                    + seconds(settings.timeout()) + " (did rank 0 stop?): " + Messages.firstLine(e), e);
        }
    }

    private static Backend gloo(Store store, GroupSettings settings, List<Object> keepAlive) {
        try {
            ProcessGroupGloo.Options options = ProcessGroupGloo.Options.create(
                    new Milliseconds(settings.timeout().toMillis()));
            GlooDeviceVector devices = new GlooDeviceVector(
                    ProcessGroupGloo.createDeviceForHostname(settings.masterAddr()));
            options.devices(devices);
            options.threads(1);
            keepAlive.add(options);
            keepAlive.add(devices);
            // Pass a clone: the constructor adopts the store it is given.
            return new ProcessGroupGloo(store.clone(), settings.rank(), settings.worldSize(), options);
        } catch (RuntimeException e) {
            throw new DistributedException("rank " + settings.rank() + " could not connect Gloo to the other ranks"
                    + " within " + seconds(settings.timeout()) + ": " + Messages.firstLine(e), e);
        }
    }

    /** The NCCL backend, behind its own class so that a CPU-only build never loads it until asked. */
    private static final class Nccl {
        static Backend create(Store store, GroupSettings settings, List<Object> keepAlive) {
            try {
                org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options options =
                        org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options.create();
                options.timeout(new Milliseconds(settings.timeout().toMillis()));
                keepAlive.add(options);
                // Pass a clone: the constructor adopts the store it is given.
                return new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(store.clone(), settings.rank(),
                        settings.worldSize(), options);
            } catch (RuntimeException | LinkageError e) {
                throw new DistributedException("rank " + settings.rank() + " could not start NCCL (it needs the"
                        + " -Pcuda build and a CUDA device per rank): " + Messages.firstLine(e), e);
            }
        }
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
     *
     * @throws DistributedException if a rank is gone or the timeout passes
     */
    public void allReduceSum(Tensor tensor) {
        allReduce(tensor, ReduceOp.RedOpType.SUM, "allReduceSum");
    }

    /** As {@link #allReduceSum} with another reduction; for this package's checks. */
    void allReduce(Tensor tensor, ReduceOp.RedOpType op, String what) {
        requireUsable();
        try (PointerScope scope = new PointerScope()) {
            AllreduceOptions options = new AllreduceOptions();
            options.reduceOp(new ReduceOp(op));
            options.timeout(new Milliseconds(timeoutMillis));
            await(backend.allreduce(new TensorVector(tensor), options), what);
        } catch (DistributedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw failure(what, e);
        }
    }

    /**
     * Overwrites {@code tensor} on every rank with rank {@code root}'s; every rank must call it with a tensor of the
     * same shape and dtype.
     *
     * @throws IllegalArgumentException if {@code root} is not a rank
     * @throws DistributedException     if a rank is gone or the timeout passes
     */
    public void broadcast(Tensor tensor, int root) {
        if (root < 0 || root >= worldSize()) {
            throw new IllegalArgumentException("root must be in [0, " + worldSize() + "), got " + root);
        }
        requireUsable();
        String what = "broadcast from rank " + root;
        try (PointerScope scope = new PointerScope()) {
            BroadcastOptions options = new BroadcastOptions();
            options.rootRank(root);
            options.timeout(new Milliseconds(timeoutMillis));
            await(backend.broadcast(new TensorVector(tensor), options), what);
        } catch (DistributedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw failure(what, e);
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
            throw failure("barrier", e);
        }
    }

    private void await(Work work, String what) {
        if (!work._wait(new Milliseconds(timeoutMillis))) {
            throw failure(what, new IllegalStateException("not completed after " + seconds(settings.timeout())));
        }
    }

    private DistributedException failure(String what, RuntimeException e) {
        broken = true;
        return new DistributedException("rank " + rank() + " of " + worldSize() + ": " + what + " failed (a rank"
                + " stopped, crashed or is out of step; timeout " + seconds(settings.timeout()) + "): "
                + Messages.firstLine(e), e);
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

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
