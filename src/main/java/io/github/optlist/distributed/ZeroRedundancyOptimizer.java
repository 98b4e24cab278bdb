package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.ParamGroup;
import io.github.optlist.torch.ParamStateDict;
import io.github.optlist.torch.ScalarTypes;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The list's optimizer with its state sharded over the ranks (ZeRO stage 1), as torch's
 * {@code ZeroRedundancyOptimizer}: each parameter is owned by one rank, which alone keeps its moments and updates
 * it; the owners then broadcast the updated parameters, so every rank ends each step with the same parameters as
 * an unsharded optimizer would give. The moments take about {@code 1/worldSize} of the unsharded optimizer's memory
 * on each rank.
 *
 * <pre>{@code
 * try (TrainingGroup group = TrainingGroup.fromEnvironment();
 *      DataParallel dp = DataParallel.of(group, model.parameters());
 *      ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.forIdx(group, model.parameters(), 0, steps)) {
 *     ... opt.zeroGrad(); loss.backward(); dp.averageGradients(); opt.step(); ...
 * }
 * }</pre>
 *
 * <p>Ownership is assigned as torch does: group by group, the parameters from the largest to the smallest each go
 * to the rank that owns the fewest elements so far (the lowest such rank on ties). A rank's share is an ordinary
 * {@link NAdamWCosineDecay} over the parameters it owns, with the same groups, configurations, training length and
 * list variant, so the update runs on the same (fused) paths and follows the list's semantics exactly: Nesterov as
 * the configuration says, each parameter counting its own steps.
 *
 * <p>{@link #save(Path)} writes one consolidated checkpoint in {@link NAdamWCosineDecay#save(Path)}'s format,
 * which any number of ranks loads with {@link #load(Path)}, and a single process with
 * {@link NAdamWCosineDecay#load(Path)}.
 *
 * <p>Gradients must be averaged before {@link #step()} ({@link DataParallel#averageGradients()}); ZeRO-1 shards only
 * the optimizer state, not the gradients. Not thread-safe.
 */
public final class ZeroRedundancyOptimizer implements AutoCloseable {

    private final TrainingGroup group;
    private final List<ParamGroup> groups;
    private final long trainingSteps;
    private final ListVariant variant;
    /** Every parameter, group after group, and its owner. */
    private final List<Tensor> params = new ArrayList<>();
    private final int[] owners;
    /** This rank's share, or null when it owns no parameter. */
    private final NAdamWCosineDecay local;
    /** Per rank, buckets of the parameters it owns, broadcast after each step. */
    private final List<FlatBuckets> ownedBuckets = new ArrayList<>();
    private final List<List<Tensor>> ownedParams = new ArrayList<>();
    private long stepCount;
    private boolean closed;

    private ZeroRedundancyOptimizer(TrainingGroup group, List<ParamGroup> groups, long trainingSteps,
                                    ListVariant variant) {
        this.group = group;
        this.groups = List.copyOf(groups);
        this.trainingSteps = trainingSteps;
        this.variant = variant;
        for (ParamGroup g : groups) {
            params.addAll(g.params());
        }
        this.owners = partition(groups, group.worldSize());
        List<ParamGroup> mine = new ArrayList<>();
        int next = 0;
        for (ParamGroup g : groups) {
            List<Tensor> owned = new ArrayList<>();
            for (Tensor p : g.params()) {
                if (owners[next++] == group.rank()) {
                    owned.add(p);
                }
            }
            if (!owned.isEmpty()) {
                mine.add(ParamGroup.of(owned, g.config()));
            }
        }
        this.local = mine.isEmpty() ? null : new NAdamWCosineDecay(mine, trainingSteps, variant);
        for (int r = 0; r < group.worldSize(); r++) {
            List<Tensor> owned = new ArrayList<>();
            for (int i = 0; i < params.size(); i++) {
                if (owners[i] == r) {
                    owned.add(params.get(i));
                }
            }
            ownedParams.add(owned);
            ownedBuckets.add(owned.isEmpty() ? null : new FlatBuckets(owned, DataParallel.DEFAULT_BUCKET_BYTES));
        }
    }

    /**
     * The sharded optimizer of list entry {@code idx} over {@code params}, as
     * {@link io.github.optlist.torch.TorchOptList#optimizerForIdx(TensorVector, int, long, ListVariant)} builds it
     * unsharded. A collective: every rank calls it with its copy of the same model.
     *
     * @throws IllegalArgumentException as {@code optimizerForIdx}, or if {@code group} is null
     * @throws DistributedException     as {@link #of}
     */
    public static ZeroRedundancyOptimizer forIdx(TrainingGroup group, TensorVector params, int idx,
                                                 long trainingSteps, ListVariant variant) {
        OptList.requireIndex(idx);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        return of(group, List.of(ParamGroup.of(params, OptList.config(idx, variant))), trainingSteps, variant);
    }

    /** As {@link #forIdx(TrainingGroup, TensorVector, int, long, ListVariant)} under {@link ListVariant#TASKSET}. */
    public static ZeroRedundancyOptimizer forIdx(TrainingGroup group, TensorVector params, int idx,
                                                 long trainingSteps) {
        return forIdx(group, params, idx, trainingSteps, ListVariant.TASKSET);
    }

    /**
     * A sharded optimizer over parameter groups, as
     * {@link NAdamWCosineDecay#NAdamWCosineDecay(List, long, ListVariant)} builds it unsharded. A collective: it
     * checks that every rank passes the same parameters (number, shapes, dtypes), configurations, training length
     * and variant.
     *
     * @throws IllegalArgumentException as that constructor, or if {@code group} is null
     * @throws DistributedException     if the ranks disagree (on every rank alike; nothing is allocated), or a rank
     *                                  fails or times out
     */
    public static ZeroRedundancyOptimizer of(TrainingGroup group, List<ParamGroup> groups, long trainingSteps,
                                             ListVariant variant) {
        if (group == null) {
            throw new IllegalArgumentException("group must not be null");
        }
        // Validates everything a single-process optimizer would, before any collective.
        new NAdamWCosineDecay(groups, trainingSteps, variant).close();
        List<Tensor> all = new ArrayList<>();
        long[] settings = new long[2 + 2 * groups.size()];
        settings[0] = trainingSteps;
        settings[1] = variant.ordinal();
        for (int g = 0; g < groups.size(); g++) {
            all.addAll(groups.get(g).params());
            settings[2 + 2 * g] = groups.get(g).params().size();
            settings[3 + 2 * g] = groups.get(g).config().toString().hashCode();
        }
        Tensor like = all.get(0);
        Native.requireSameOnEveryRank(group, new long[]{groups.size()}, like, i -> "the number of parameter groups");
        Native.requireSameOnEveryRank(group, settings, like, i -> i == 0 ? "trainingSteps" : i == 1 ? "the list variant"
                : (i % 2 == 0 ? "the number of parameters" : "the configuration") + " of group " + (i - 2) / 2,
                i -> i < 2 || i % 2 == 0);
        DataParallel.requireSameParameters(group, all);
        return new ZeroRedundancyOptimizer(group, groups, trainingSteps, variant);
    }

    /** torch's greedy partition: per group, largest first, to the rank with the fewest elements so far. */
    static int[] partition(List<ParamGroup> groups, int worldSize) {
        long[] sizes = new long[worldSize];
        int total = 0;
        for (ParamGroup g : groups) {
            total += g.params().size();
        }
        int[] owners = new int[total];
        int base = 0;
        for (ParamGroup g : groups) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < g.params().size(); i++) {
                order.add(i);
            }
            order.sort(Comparator.comparingLong((Integer i) -> g.params().get(i).numel()).reversed());
            for (int i : order) {
                int rank = 0;
                for (int r = 1; r < worldSize; r++) {
                    if (sizes[r] < sizes[rank]) {
                        rank = r;
                    }
                }
                sizes[rank] += g.params().get(i).numel();
                owners[base + i] = rank;
            }
            base += g.params().size();
        }
        return owners;
    }

    /**
     * Updates the parameters this rank owns from their (already averaged) gradients, then broadcasts every
     * rank's updated parameters from their owners. A collective: every rank calls it once per step.
     *
     * @throws IllegalArgumentException as {@link NAdamWCosineDecay#step()}
     * @throws DistributedException     if a rank fails or times out
     */
    public void step() {
        requireOpen();
        if (local != null) {
            local.step();
        }
        stepCount++;
        if (group.worldSize() == 1) {
            return;
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (int r = 0; r < group.worldSize(); r++) {
                FlatBuckets buckets = ownedBuckets.get(r);
                if (buckets == null) {
                    continue;
                }
                List<Tensor> owned = ownedParams.get(r);
                for (FlatBuckets.Bucket bucket : buckets.buckets) {
                    if (r == group.rank()) {
                        for (int m = 0; m < bucket.indices.length; m++) {
                            bucket.views.get(m).copy_(owned.get(bucket.indices[m]));
                        }
                    }
                    group.broadcast(bucket.flat, r);
                    if (r != group.rank()) {
                        for (int m = 0; m < bucket.indices.length; m++) {
                            owned.get(bucket.indices[m]).copy_(bucket.views.get(m));
                        }
                    }
                }
            }
        }
    }

    /** Clears every parameter's gradient (not only the owned ones) by setting it to none. */
    public void zeroGrad() {
        try (PointerScope scope = new PointerScope()) {
            for (Tensor p : params) {
                Tensor grad = p.mutable_grad();
                if (grad.defined()) {
                    grad.reset();
                }
            }
        }
    }

    /** The rank owning parameter {@code index} of group {@code groupIndex}. */
    public int ownerOf(int groupIndex, int index) {
        if (groupIndex < 0 || groupIndex >= groups.size()) {
            throw new IllegalArgumentException("groupIndex must be in [0, " + groups.size() + "), got " + groupIndex);
        }
        int size = groups.get(groupIndex).params().size();
        if (index < 0 || index >= size) {
            throw new IllegalArgumentException("index must be in [0, " + size + "), got " + index);
        }
        int base = 0;
        for (int g = 0; g < groupIndex; g++) {
            base += groups.get(g).params().size();
        }
        return owners[base + index];
    }

    /** This rank's share: the optimizer of the parameters it owns, empty if it owns none (more ranks than tensors). */
    public Optional<NAdamWCosineDecay> localOptimizer() {
        return Optional.ofNullable(local);
    }

    /** The parameter groups, as given. */
    public List<ParamGroup> paramGroups() {
        return Collections.unmodifiableList(groups);
    }

    /** The number of completed {@code step()} calls. */
    public long stepCount() {
        return stepCount;
    }

    /** The training length. */
    public long trainingSteps() {
        return trainingSteps;
    }

    /** The list variant. */
    public ListVariant variant() {
        return variant;
    }

    /**
     * The bytes this rank's moments take now (0 before the first step): the measure of the sharding. Copies them
     * to count, so call it outside the training loop.
     */
    public long momentBytes() {
        requireOpen();
        if (local == null) {
            return 0;
        }
        long bytes = 0;
        try (PointerScope scope = new PointerScope()) {
            for (ParamGroup g : local.paramGroups()) {
                for (Tensor p : g.params()) {
                    ParamStateDict state = local.stateDict(p);
                    if (state.hasMoments()) {
                        bytes += state.expAvg().nbytes() + state.expAvgSq().nbytes();
                    }
                }
            }
        }
        return bytes;
    }

    /**
     * Writes one consolidated checkpoint, in {@link NAdamWCosineDecay#save(Path)}'s format, to {@code path} on rank
     * 0: the owners send every parameter's moments there, and rank 0 saves them as an unsharded optimizer would
     * (atomically). A collective; every rank returns once the file is written. Rank 0 holds the whole state for the
     * time of the call. Save the model's parameters too (they are the same on every rank).
     *
     * @throws IOException          on every rank, if rank 0 cannot write the file (rank 0's names the path and the
     *                              cause); the previous file is then unchanged, as after a failed
     *                              {@link NAdamWCosineDecay#save(Path)}
     * @throws DistributedException if a rank fails or times out
     */
    public void save(Path path) throws IOException {
        requireOpen();
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        int n = params.size();
        long[] meta = new long[2 * n];
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<ParamStateDict> mine = new ArrayList<>(Collections.nCopies(n, null));
            for (int i = 0; i < n; i++) {
                if (owners[i] == group.rank() && local != null) {
                    ParamStateDict state = local.stateDict(params.get(i));
                    mine.set(i, state);
                    meta[i] = state.step();
                    meta[n + i] = state.hasMoments() ? state.expAvg().scalar_type().value : 0;
                }
            }
            long[] all = group.worldSize() == 1 ? meta
                    : Native.allReduce(group, meta, ReduceOp.RedOpType.SUM, params.get(0), "checkpoint metadata");
            NAdamWCosineDecay full = group.rank() == 0 ? new NAdamWCosineDecay(groups, trainingSteps, variant) : null;
            Exception failure = null;
            try {
                for (int i = 0; i < n; i++) {
                    if (all[i] == 0) {
                        continue;
                    }
                    try (PointerScope perParam = new PointerScope()) {
                        Tensor expAvg;
                        Tensor expAvgSq;
                        if (owners[i] == group.rank()) {
                            expAvg = mine.get(i).expAvg();
                            expAvgSq = mine.get(i).expAvgSq();
                        } else {
                            Tensor p = params.get(i);
                            TensorOptions options = new TensorOptions(ScalarTypes.of((int) all[n + i]))
                                    .device(new org.bytedeco.pytorch.DeviceOptional(p.device()));
                            expAvg = p.new_empty(p.shape(), options);
                            expAvgSq = p.new_empty(p.shape(), options);
                        }
                        if (group.worldSize() > 1) {
                            group.broadcast(expAvg, owners[i]);
                            group.broadcast(expAvgSq, owners[i]);
                        }
                        if (full != null) {
                            full.loadStateDict(params.get(i), new ParamStateDict(all[i], expAvg, expAvgSq));
                        }
                    }
                }
                if (full != null) {
                    full.setStepCount(stepCount);
                    try {
                        full.save(path);
                    } catch (IOException | RuntimeException e) {
                        failure = e;
                    }
                }
            } finally {
                if (full != null) {
                    full.close();
                }
            }
            long[] ok = {failure == null ? 1 : 0};
            if (group.worldSize() > 1) {
                ok = Native.allReduce(group, ok, ReduceOp.RedOpType.MIN, params.get(0), "checkpoint save check");
            }
            if (ok[0] == 0) {
                throw group.rank() == 0 ? new IOException("cannot save the sharded optimizer: " + failure.getMessage(),
                        failure) : new IOException("rank 0 could not save the sharded optimizer to " + path
                        + " (see its error)");
            }
        }
    }

    /**
     * Restores a checkpoint written by {@link #save(Path)} (by any number of ranks) or by an unsharded
     * {@link NAdamWCosineDecay#save(Path)}: every rank reads the file, checks it against the whole model as
     * {@link NAdamWCosineDecay#load(Path)} does, and keeps the moments of the parameters it owns. A collective:
     * if any rank refuses the file, every rank throws and no rank changes. Each rank holds the whole state for the
     * time of the call.
     *
     * @throws IOException          as {@link NAdamWCosineDecay#load(Path)} on the ranks that refused the file; the
     *                              others say that another rank did
     * @throws DistributedException if a rank fails or times out
     */
    public void load(Path path) throws IOException {
        requireOpen();
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        try (PointerScope scope = new PointerScope();
             NAdamWCosineDecay full = new NAdamWCosineDecay(groups, trainingSteps, variant)) {
            IOException failure = null;
            try {
                full.load(path);
            } catch (IOException e) {
                failure = e;
            }
            long[] ok = {failure == null ? 1 : 0};
            long[] all = group.worldSize() == 1 ? ok
                    : Native.allReduce(group, ok, ReduceOp.RedOpType.MIN, params.get(0), "checkpoint load check");
            if (failure != null) {
                throw failure;
            }
            if (all[0] == 0) {
                throw new IOException("another rank could not load " + path + " (see its error); nothing was changed");
            }
            if (local != null) {
                for (ParamGroup g : local.paramGroups()) {
                    for (Tensor p : g.params()) {
                        try (PointerScope perParam = new PointerScope()) {
                            local.loadStateDict(p, full.stateDict(p));
                        }
                    }
                }
                local.setStepCount(full.stepCount());
            }
            stepCount = full.stepCount();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this optimizer is closed: its state was freed");
        }
    }

    /** Frees this rank's moments and the broadcast buffers; the parameters are untouched. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (local != null) {
            local.close();
        }
        for (FlatBuckets buckets : ownedBuckets) {
            if (buckets != null) {
                buckets.close();
            }
        }
    }
}
