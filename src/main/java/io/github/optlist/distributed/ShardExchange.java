package io.github.optlist.distributed;

import io.github.optlist.internal.NonFiniteCheck;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * What the ranks of a {@link ZeroRedundancyOptimizer} exchange around each step: their verdict on the gradients of
 * the parameters each owns (one all-reduce, so that every rank skips or steps alike), and, after the step, each
 * owner's updated parameters (bucketed broadcasts). Holds the broadcast buffers and the non-finite check's flags
 * until {@link #close()}.
 */
final class ShardExchange implements AutoCloseable {

    private final TrainingGroup group;
    private final Ownership ownership;
    /** A parameter, whose device the small collectives use. */
    private final Tensor anchor;
    /** Per rank, flat buffers of the parameters it owns, or null for a rank that owns none. */
    private final List<FlatBuffers> ownedBuffers = new ArrayList<>();
    private final NonFiniteCheck nonFinite = new NonFiniteCheck();

    ShardExchange(TrainingGroup group, Ownership ownership, Tensor anchor) {
        this.group = group;
        this.ownership = ownership;
        this.anchor = anchor;
        for (int r = 0; r < group.worldSize(); r++) {
            List<Tensor> owned = ownership.ownedBy(r);
            ownedBuffers.add(owned.isEmpty() ? null : new FlatBuffers(owned, DataParallel.DEFAULT_BUCKET_BYTES));
        }
    }

    /** This rank's verdict on its own gradients, then one all-reduce: every rank gets the same answer. */
    boolean finiteOnEveryRank() {
        long[] found;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<Tensor> grads = new ArrayList<>();
            for (Tensor p : ownership.ownedBy(group.rank())) {
                Tensor grad = p.grad();
                grads.add(grad.defined() ? grad : null);
            }
            found = new long[]{nonFinite.allFinite(grads) ? 0 : 1};
        }
        if (group.worldSize() > 1) {
            found = SmallCollectives.allReduce(group, found, ReduceOp.RedOpType.MAX, anchor, "non-finite check");
        }
        return found[0] == 0;
    }

    /** Every rank's updated parameters, from their owners to the others. */
    void broadcastOwnedParameters() {
        for (int r = 0; r < group.worldSize(); r++) {
            if (ownedBuffers.get(r) != null) {
                ownedBuffers.get(r).broadcast(group, ownership.ownedBy(r), r);
            }
        }
    }

    /** Frees the buffers and flags; the parameters are untouched. */
    @Override
    public void close() {
        nonFinite.release();
        ownedBuffers.stream().filter(b -> b != null).forEach(FlatBuffers::close);
    }
}
