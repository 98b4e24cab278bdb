package io.github.optlist.distributed;

import io.github.optlist.internal.Messages;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.IntOptional;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

import static io.github.optlist.distributed.TrainingGroup.KEY_PREFIX;
import static io.github.optlist.distributed.TrainingGroup.seconds;
import static io.github.optlist.distributed.TrainingGroup.sleepQuietly;

/**
 * The joining of a {@link TrainingGroup}: the c10d store served by rank 0 (on the loopback address only when the
 * master is a loopback address), the check through it that every rank names the same world size and joins once,
 * and the backend (Gloo, or NCCL on this rank's CUDA device) connected over it.
 */
final class Rendezvous {

    /** What a joined rank holds: the store, the backend, and the native objects the backend was built from. */
    record Joined(Store store, Backend backend, List<Object> keepAlive) {
    }

    private Rendezvous() {
    }

    /**
     * Joins as {@link TrainingGroup#join} describes; a refused join frees the store (and on rank 0 its port).
     *
     * @throws DistributedException as {@link TrainingGroup#join}
     */
    static Joined join(GroupSettings settings) {
        if (settings.backend() == GroupSettings.Backend.NCCL) {
            requireCudaDevice(settings);
        }
        String where = settings.masterAddr() + ":" + settings.masterPort();
        Store store = openStore(settings, where);
        try {
            agreeOnWorldSize(store, settings);
            List<Object> keepAlive = new ArrayList<>();
            Backend backend = settings.backend() == GroupSettings.Backend.GLOO
                    ? gloo(store, settings, keepAlive) : Nccl.create(store, settings, keepAlive);
            return new Joined(store, backend, keepAlive);
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
                FailureReports.reportToLauncher(settings.rank(), List.of(0));
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
                        if (store.check(new StringVector(key))) {
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
                        FailureReports.reportToLauncher(0, missing);
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
                FailureReports.reportToLauncher(rank, List.of(0));
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
}
