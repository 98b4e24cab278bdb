package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import io.github.optlist.internal.CallGuard;
import io.github.optlist.internal.GradScales;
import io.github.optlist.internal.OptimizerBookkeeping;
import io.github.optlist.torch.ListOptimizer;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.OptimizerState;
import io.github.optlist.torch.ParamGroup;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * The list's optimizer with its state sharded over the ranks (ZeRO stage 1), as torch's
 * {@code ZeroRedundancyOptimizer}: each parameter is owned by one rank, which alone keeps its moments and updates
 * it; the owners then broadcast the updated parameters, so every rank ends each step with the same parameters as
 * an unsharded optimizer would give. The state takes about {@code 1/worldSize} of the unsharded optimizer's memory
 * on each rank.
 *
 * <pre>{@code
 * try (TrainingGroup group = TrainingGroup.fromEnvironment();
 *      DataParallel dp = DataParallel.of(group, model.parameters());
 *      ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(model.parameters(), 0,
 *              steps, ListVariant.TASKSET, OptimizerOptions.DEFAULTS))) {
 *     ... opt.zeroGrad(); loss.backward(); dp.averageGradients(); opt.step(); ...
 * }
 * }</pre>
 *
 * <p>Ownership is assigned as torch does: group by group, the parameters from the largest to the smallest each go
 * to the rank that owns the fewest elements so far (the lowest such rank on ties). A rank's share is an ordinary
 * {@link NAdamWCosineDecay} over the parameters it owns, with the same groups, configurations, training length,
 * list variant and {@link OptimizerOptions} (master weights included), so the update runs on the same paths and
 * follows the list's semantics exactly. Under {@link OptimizerOptions#skipNonFiniteSteps()} each rank checks the
 * gradients of its own parameters and one all-reduce of the flag makes every rank skip the same steps.
 *
 * <p>{@link #save(Path)} writes one consolidated checkpoint in {@link NAdamWCosineDecay#save(Path)}'s format,
 * which any number of ranks loads with {@link #load(Path)}, and a single process with
 * {@link NAdamWCosineDecay#load(Path)}.
 *
 * <p>Gradients must be averaged before {@link #step()} ({@link DataParallel#averageGradients()}); ZeRO-1 shards only
 * the optimizer state, not the gradients. Not thread-safe; only {@link #close()} is guarded against other threads
 * (refused while another thread is in a call).
 */
public final class ZeroRedundancyOptimizer implements ListOptimizer {

    private final TrainingGroup group;
    private final OptimizerSpec spec;
    /** Every parameter, group after group. */
    private final List<Tensor> params = new ArrayList<>();
    private final Ownership ownership;
    /** This rank's share, or null when it owns no parameter. */
    private final NAdamWCosineDecay local;
    /** The ranks' verdict on the gradients before a step and the owners' broadcasts after it. */
    private final ShardExchange exchange;
    /** The closed flag, the step and skip counts and the skip listener, as the unsharded optimizer keeps them. */
    private final OptimizerBookkeeping book = new OptimizerBookkeeping();

    private ZeroRedundancyOptimizer(TrainingGroup group, OptimizerSpec spec) {
        this.group = group;
        this.spec = spec;
        spec.groups().forEach(g -> params.addAll(g.params()));
        this.ownership = new Ownership(spec.groups(), group.worldSize(), group.rank());
        List<ParamGroup> mine = ownership.localGroups();
        // The skip decision is taken here, the same on every rank; the share steps whatever it is given.
        this.local = mine.isEmpty() ? null : NAdamWCosineDecay.of(new OptimizerSpec(mine, spec.trainingSteps(),
                spec.variant(), spec.options().withSkipNonFiniteSteps(false)));
        this.exchange = new ShardExchange(group, ownership, params.get(0));
    }

    /**
     * A sharded optimizer running {@code spec}, as {@link NAdamWCosineDecay#of(OptimizerSpec)} runs it unsharded;
     * {@link OptimizerSpec#forIdx(TensorVector, int, long, io.github.optlist.ListVariant, OptimizerOptions)} makes
     * the spec of a list entry. A collective: every rank calls it with its copy of the same model, and it checks
     * that every rank passes the same parameters (number, shapes, dtypes), configurations (every field, by value),
     * training length, variant and options.
     *
     * @throws IllegalArgumentException if {@code group} or {@code spec} is null; nothing is sent then
     * @throws DistributedException     if the ranks disagree (on every rank alike; nothing is allocated), or a rank
     *                                  fails or times out
     */
    public static ZeroRedundancyOptimizer of(TrainingGroup group, OptimizerSpec spec) {
        if (group == null) {
            throw new IllegalArgumentException("group must not be null");
        }
        if (spec == null) {
            throw new IllegalArgumentException("spec must not be null");
        }
        SmallCollectives.requireSameSettings(group, spec.groups(), spec.trainingSteps(), spec.variant(),
                spec.options());
        List<Tensor> all = new ArrayList<>();
        spec.groups().forEach(g -> all.addAll(g.params()));
        DataParallel.requireSameParameters(group, all);
        return new ZeroRedundancyOptimizer(group, spec);
    }

    /**
     * Updates the parameters this rank owns from their (already averaged) gradients, then broadcasts every
     * rank's updated parameters from their owners. Under {@link OptimizerOptions#skipNonFiniteSteps()}, first
     * checks this rank's gradients and agrees with the others: a non-finite gradient on any rank skips the step on
     * every rank. A collective: every rank calls it once per step.
     *
     * @throws IllegalArgumentException as {@link NAdamWCosineDecay#step()}
     * @throws DistributedException     if a rank fails or times out
     */
    @Override
    public void step() {
        try (CallGuard.Call call = book.enter()) {
            boolean check = spec.options().skipNonFiniteSteps();
            if (book.step(() -> check && !exchange.finiteOnEveryRank() ? null : stepLocally(), true) != null) {
                exchange.broadcastOwnedParameters();
            }
        }
    }

    /** Steps this rank's share, if any; returns a mark of the step. */
    private Boolean stepLocally() {
        if (local != null) {
            local.step();
        }
        return Boolean.TRUE;
    }

    /**
     * {@inheritDoc} A collective: each rank checks the gradients of the parameters it owns, and one all-reduce of
     * the verdict makes every rank skip, or step, alike.
     */
    @Override
    public boolean scaledStep(double gradScale) {
        try (CallGuard.Call call = book.enter()) {
            double scale = GradScales.require(gradScale);
            Boolean ran = book.step(() -> exchange.finiteOnEveryRank() ? scaledStepLocally(scale) : null, false);
            if (ran != null) {
                exchange.broadcastOwnedParameters();
            }
            return ran != null;
        }
    }

    /** Steps this rank's share, if any, from gradients scaled by {@code scale}, which every rank found finite. */
    private Boolean scaledStepLocally(double scale) {
        if (local != null && !local.scaledStep(scale)) {
            throw new IllegalStateException("rank " + group.rank() + " found a non-finite gradient on its second"
                    + " look; its gradients changed during the step");
        }
        return Boolean.TRUE;
    }

    /** Clears every parameter's gradient (not only the owned ones) by setting it to none. */
    @Override
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

    /**
     * The rank owning parameter {@code index} of group {@code groupIndex}.
     *
     * @throws IllegalArgumentException if there is no such parameter
     */
    public int ownerOf(int groupIndex, int index) {
        return ownership.ownerOf(groupIndex, index);
    }

    /**
     * This rank's share: the optimizer of the parameters it owns, empty if it owns none (more ranks than tensors).
     * Its options are this optimizer's with the non-finite check off: this optimizer checks, for every rank alike.
     */
    public Optional<NAdamWCosineDecay> localOptimizer() {
        return Optional.ofNullable(local);
    }

    @Override
    public OptimizerSpec spec() {
        return spec;
    }

    @Override
    public long stepCount() {
        return book.stepCount();
    }

    /** {@inheritDoc} A step is skipped on every rank alike. */
    @Override
    public long skippedSteps() {
        return book.skippedSteps();
    }

    @Override
    public void setSkippedStepListener(LongConsumer listener) {
        book.setSkipListener(listener);
    }

    /**
     * The bytes this rank's moments take now (0 before the first step): the measure of the sharding. Copies them
     * to count, so call it outside the training loop.
     */
    public long momentBytes() {
        try (CallGuard.Call call = book.enter()) {
            long bytes = 0;
            try (PointerScope scope = new PointerScope()) {
                for (OptimizerState.Group g : local == null ? List.<OptimizerState.Group>of()
                        : local.state().groups()) {
                    for (OptimizerState.Param state : g.params()) {
                        bytes += state.hasMoments() ? state.expAvg().nbytes() + state.expAvgSq().nbytes() : 0;
                    }
                }
            }
            return bytes;
        }
    }

    /**
     * The whole, consolidated state, on every rank: the owners broadcast each parameter's state. A collective; each
     * rank holds the whole state from then on, in the caller's scope. To checkpoint, {@link #save(Path)} costs less.
     *
     * @throws DistributedException if a rank fails or times out
     */
    @Override
    public OptimizerState state() {
        try (CallGuard.Call call = book.enter()) {
            return Consolidation.wholeState(this);
        }
    }

    /**
     * Takes the whole {@code state} (the same on every rank, e.g. from {@link #state()} or a single process) and keeps
     * the part of the parameters this rank owns. A collective: every rank checks the whole state against the whole
     * model, and if any rank refuses it, every rank throws and none changes.
     *
     * @throws IllegalArgumentException on the ranks that refused the state, naming the mismatch; the others say that
     *                                  another rank did
     * @throws DistributedException     if a rank fails or times out
     */
    @Override
    public void loadState(OptimizerState state) {
        try (CallGuard.Call call = book.enter()) {
            IllegalArgumentException failure = null;
            OptimizerState fitted = null;
            try {
                if (state == null) {
                    throw new IllegalArgumentException("state must not be null");
                }
                fitted = state.fittedTo(paramGroups(), trainingSteps(), variant(), options().statePrecision());
            } catch (IllegalArgumentException e) {
                failure = e;
            }
            if (!SmallCollectives.allAgree(group, failure == null, params.get(0), "state check")) {
                throw failure != null ? failure : new IllegalArgumentException("another rank refused the state"
                        + " (see its error); nothing changed");
            }
            List<OptimizerState.Param> flat = new ArrayList<>();
            fitted.groups().forEach(g -> flat.addAll(g.params()));
            book.setStepCount(Consolidation.keepOwned(this, flat::get, state.statePrecision(), state.stepCount()));
        }
    }

    /**
     * Writes one consolidated checkpoint, in {@link NAdamWCosineDecay#save(Path)}'s format, to {@code path} on rank
     * 0: the owners send every parameter's state there (moments and master copies), and rank 0 saves it as an
     * unsharded optimizer with these options would (atomically). A collective; every rank returns once the file is
     * written. Rank 0 holds the whole state for the time of the call. Save the model's parameters too (they are the
     * same on every rank).
     *
     * @throws IOException          on every rank, if rank 0 cannot write the file (rank 0's names the path and the
     *                              cause); the previous file is then unchanged, as after a failed
     *                              {@link NAdamWCosineDecay#save(Path)}
     * @throws DistributedException if a rank fails or times out
     */
    @Override
    public void save(Path path) throws IOException {
        try (CallGuard.Call call = book.enter()) {
            requirePath(path);
            ShardedCheckpoint.save(this, path);
        }
    }

    /**
     * Restores a checkpoint written by {@link #save(Path)} (by any number of ranks) or by an unsharded
     * {@link NAdamWCosineDecay#save(Path)}: every rank reads the file, checks it against the whole model as
     * {@link NAdamWCosineDecay#load(Path)} does, and keeps the state of the parameters it owns. A collective:
     * if any rank refuses the file, every rank throws and no rank changes. Each rank holds the whole state for the
     * time of the call.
     *
     * @throws IOException          as {@link NAdamWCosineDecay#load(Path)} on the ranks that refused the file; the
     *                              others say that another rank did
     * @throws DistributedException if a rank fails or times out
     */
    @Override
    public void load(Path path) throws IOException {
        try (CallGuard.Call call = book.enter()) {
            requirePath(path);
            book.setStepCount(ShardedCheckpoint.load(this, path));
        }
    }

    /** {@inheritDoc} A closed optimizer refuses before the file is read. */
    @Override
    public void loadPythonStateDict(Path path) throws IOException {
        try (CallGuard.Call call = book.enter()) {
            ListOptimizer.super.loadPythonStateDict(path);
        }
    }

    /** The group this optimizer runs over, for {@link Consolidation} and {@link ShardedCheckpoint}. */
    TrainingGroup group() {
        return group;
    }

    List<Tensor> params() {
        return params;
    }

    Ownership ownership() {
        return ownership;
    }

    private static void requirePath(Path path) {
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
    }

    /**
     * Frees this rank's state and the broadcast buffers; the parameters are untouched. Refused while a call on
     * another thread is in progress, on this optimizer or on its {@linkplain #localOptimizer() share} (freeing the
     * state under it would crash the JVM); nothing is freed then, and a later {@code close()} succeeds.
     *
     * @throws IllegalStateException if another thread is using this optimizer
     */
    @Override
    public void close() {
        if (!book.close()) {
            return;
        }
        if (local != null) {
            try {
                local.close();
            } catch (IllegalStateException e) {
                book.reopen();
                throw e;
            }
        }
        exchange.close();
    }
}
