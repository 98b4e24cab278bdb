package io.github.optlist.distributed;

import io.github.optlist.internal.Messages;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.IntOptional;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Collectors;

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

    private static final String KEY_PREFIX = "opt-list/";

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
     *                                  in this build, or this machine has no CUDA device {@code localRank}: refused
     *                                  before the store is opened)
     */
    public static TrainingGroup join(GroupSettings settings) {
        if (settings == null) {
            throw new IllegalArgumentException("settings must not be null");
        }
        if (settings.backend() == DistributedBackend.NCCL) {
            requireCudaDevice(settings);
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

    /** NCCL runs each rank on CUDA device {@code localRank}: refused before anything starts when there is none. */
    private static void requireCudaDevice(GroupSettings settings) {
        int devices;
        try {
            devices = org.bytedeco.pytorch.global.torch.cuda_is_available()
                    ? org.bytedeco.pytorch.global.torch.cuda_device_count() : 0;
        } catch (RuntimeException | LinkageError e) {
            devices = 0;
        }
        if (settings.localRank() >= devices) {
            throw new DistributedException("rank " + settings.rank() + " cannot use NCCL: its local rank "
                    + settings.localRank() + " names CUDA device cuda:" + settings.localRank() + ", but this machine"
                    + " has " + devices + " usable (NCCL needs the -Pcuda build and one CUDA device per rank on each"
                    + " machine; check LOCAL_RANK)");
        }
    }

    private static Store openStore(GroupSettings settings, String where) {
        TCPStoreOptions options = new TCPStoreOptions();
        options.port((short) settings.masterPort());
        options.isServer(settings.rank() == 0);
        options.waitWorkers(false);
        options.timeout(new Milliseconds(settings.timeout().toMillis()));
        try {
            if (settings.rank() == 0) {
                InetAddress loopback = LoopbackListener.loopbackAddress(settings.masterAddr());
                OptionalInt fd = loopback == null ? OptionalInt.empty()
                        : LoopbackListener.listen(loopback, settings.masterPort());
                if (fd.isPresent()) {
                    // The store adopts the descriptor and closes it when freed, or when it fails to start.
                    options.masterListenFd(new IntOptional(fd.getAsInt()));
                }
            }
            TCPStore store = new TCPStore(settings.masterAddr(), options);
            store.setTimeout(new Milliseconds(settings.timeout().toMillis()));
            return store;
        } catch (RuntimeException e) {
            String what = settings.rank() == 0
                    ? "rank 0 cannot serve the rendezvous store on " + where + " (port in use? address not local?)"
                    : "rank " + settings.rank() + " cannot reach the master at " + where + " within "
                    + seconds(settings.timeout()) + " (is rank 0 running, are MASTER_ADDR and MASTER_PORT right?)";
            if (settings.rank() != 0) {
                reportToLauncher(settings.rank(), List.of(0));
            }
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
                        reportToLauncher(0, missing);
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
            if (rank != 0) {
                reportToLauncher(rank, List.of(0));
            }
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
                // Binds this rank to its device, as torch's init_process_group(device_id=...): the current device
                // (where NCCL's communicator and work go) and the backend's bound device (which its barrier would
                // otherwise guess from the global rank, wrong beyond one machine).
                byte device = (byte) settings.localRank();
                org.bytedeco.pytorch.global.torch_cuda.set_device(device);
                // Pass a clone: the constructor adopts the store it is given.
                org.bytedeco.pytorch.nccl.ProcessGroupNCCL backend = new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(
                        store.clone(), settings.rank(), settings.worldSize(), options);
                org.bytedeco.pytorch.DeviceOptional bound = new org.bytedeco.pytorch.DeviceOptional(
                        new org.bytedeco.pytorch.Device("cuda:" + settings.localRank()));
                keepAlive.add(bound);
                backend.setBoundDeviceId(bound);
                return backend;
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
            missing = describeMissing(missingRanks());
        }
        return new DistributedException("rank " + rank() + " of " + worldSize() + ": " + what + " failed (a rank"
                + " stopped, crashed or is out of step; timeout " + seconds(settings.timeout()) + "): "
                + Messages.firstLine(e) + missing, e);
    }

    /** The ranks that stopped answering, as found by {@link #missingRanks()}. */
    private String describeMissing(List<Integer> missing) {
        if (missing == null) {
            return rank() == 0 ? "; cannot tell which rank stopped answering (the rendezvous store fails)"
                    : "; the rendezvous store on rank 0 does not answer: rank 0 stopped answering";
        }
        if (missing.isEmpty()) {
            return "; every rank timed out: they are out of step (called different collectives) or all waited on"
                    + " one another";
        }
        return "; " + (missing.size() == 1 ? "rank " + missing.get(0) : "ranks " + missing) + " did not report this"
                + " failure within " + seconds(Duration.ofMillis(reportWindowMillis()))
                + ": stopped answering (hung, stopped or far behind)";
    }

    private long reportWindowMillis() {
        return Math.min(REPORT_WINDOW_MILLIS, timeoutMillis);
    }

    /**
     * Records this rank's failure in the store and returns the ranks that have not recorded theirs within the report
     * window (empty when every rank did), or null when the store does not answer (it is served by rank 0, which
     * is then the one not answering). Tells the launcher, if any.
     */
    private List<Integer> missingRanks() {
        long window = reportWindowMillis();
        List<Integer> missing = new ArrayList<>();
        for (int r = 0; r < worldSize(); r++) {
            if (r != rank()) {
                missing.add(r);
            }
        }
        try (PointerScope scope = new PointerScope()) {
            // The group is broken from here on: the store's own timeout no longer matters to anyone else.
            store.setTimeout(new Milliseconds(window));
            store.set(KEY_PREFIX + "failed/" + rank(), "1");
            long deadline = System.nanoTime() + window * 1_000_000L;
            while (!missing.isEmpty() && System.nanoTime() < deadline) {
                missing.removeIf(r -> store.check(new org.bytedeco.pytorch.StringVector(KEY_PREFIX + "failed/" + r)));
                if (!missing.isEmpty()) {
                    sleepQuietly(20);
                }
            }
        } catch (RuntimeException storeSilent) {
            if (rank() != 0) {
                reportToLauncher(rank(), List.of(0));
            }
            return null;
        }
        reportToLauncher(rank(), missing);
        return missing;
    }

    /**
     * Names, for {@link Launcher}, the ranks {@code reporter} found not answering; nothing when not launched by it.
     * Best effort: the error message says the same.
     */
    private static void reportToLauncher(int reporter, List<Integer> missing) {
        String dir = System.getenv(REPORTS_ENV);
        if (dir == null || dir.isBlank() || missing.isEmpty()) {
            return;
        }
        try {
            Path folder = Path.of(dir);
            Path temporary = Files.createTempFile(folder, "rank-" + reporter, ".tmp");
            Files.writeString(temporary, missing.stream().map(String::valueOf).collect(Collectors.joining(","))
                    + "\n", StandardCharsets.UTF_8);
            Files.move(temporary, folder.resolve("rank-" + reporter + ".missing"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // The launcher then blames the rank that failed, as without a report.
        }
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
