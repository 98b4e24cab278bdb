package io.github.optlist.distributed;

import io.github.optlist.internal.NativeMemory;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import static org.bytedeco.pytorch.global.torch.zeros_like;

/**
 * Data-parallel training over a {@link TrainingGroup}, as torch's {@code DistributedDataParallel}: every rank holds
 * the whole model and computes gradients on its part of the batch; {@link #averageGradients()} averages them over
 * the ranks before the optimizer steps, so that every rank applies the same update and the parameters stay
 * identical. The optimizer is any of the list's, built on every rank the same way:
 *
 * <pre>{@code
 * try (TrainingGroup group = TrainingGroup.fromEnvironment();
 *      DataParallel dp = DataParallel.of(group, model.parameters());      // rank 0's parameters everywhere
 *      NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(model.parameters(), 0, steps)) {
 *     for (long i = 0; i < steps; i++) {
 *         try (PointerScope scope = new PointerScope()) {
 *             opt.zeroGrad();
 *             loss(model, myShardOf(batch(i))).backward();
 *             dp.averageGradients();
 *             opt.step();
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Gradients travel in flat buckets of at most {@link #DEFAULT_BUCKET_BYTES} (DDP's 25 MiB), one all-reduce per
 * bucket, after the backward pass; the buffers are allocated once. A parameter without a gradient on any rank keeps
 * none (so the optimizer skips it everywhere, as a single process would); one with a gradient on some ranks only
 * counts as zero on the others.
 *
 * <p>Why not LibTorch's C++ {@code Reducer}: it works (the gradients it averaged were right), but it runs from
 * autograd hooks on LibTorch's threads, where a failed collective cannot be turned into a Java exception on the
 * training thread, and it must be re-armed around every forward and backward pass. Explicit all-reduces after
 * {@code backward()} fail on the caller's thread with a {@link DistributedException} within the timeout, and cost
 * the overlap of communication with the backward pass, which on Gloo over loopback is small.
 *
 * <p>Not thread-safe; one training loop drives it.
 */
public final class DataParallel implements AutoCloseable {

    /** DDP's default bucket size: 25 MiB. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    private final TrainingGroup group;
    private final List<Tensor> params;
    private final FlatBuffers buffers;
    private final long[] hasGrad;
    private boolean closed;

    private DataParallel(TrainingGroup group, List<Tensor> params, long bucketBytes) {
        this.group = group;
        this.params = params;
        this.buffers = new FlatBuffers(params, bucketBytes);
        this.hasGrad = new long[params.size()];
    }

    /**
     * Data parallelism over {@code params} (e.g. {@code model.parameters()}) with 25 MiB buckets; see
     * {@link #of(TrainingGroup, List, long)}.
     */
    public static DataParallel of(TrainingGroup group, TensorVector params) {
        if (params == null || params.isNull()) {
            throw new IllegalArgumentException("params must not be null");
        }
        List<Tensor> list = new ArrayList<>();
        for (long i = 0; i < params.size(); i++) {
            list.add(params.get(i));
        }
        return of(group, list, DEFAULT_BUCKET_BYTES);
    }

    /**
     * Data parallelism over {@code params}: checks that every rank passes the same number of parameters with the
     * same shapes and dtypes, then overwrites every rank's parameters with rank 0's. A collective: every rank calls
     * it, with its own copy of the same model.
     *
     * @throws IllegalArgumentException if an argument is null, {@code params} is empty or holds an undefined, sparse
     *                                  or non-floating-point tensor, or {@code bucketBytes < 1}; nothing is sent then
     * @throws DistributedException     if the ranks' parameters differ in number, shape or dtype (on every rank
     *                                  alike, before any parameter changes), or a rank fails or times out
     */
    public static DataParallel of(TrainingGroup group, List<Tensor> params, long bucketBytes) {
        List<Tensor> held = checkedParams(group, params);
        if (bucketBytes < 1) {
            throw new IllegalArgumentException("bucketBytes must be at least 1, got " + bucketBytes);
        }
        requireSameParameters(group, held);
        DataParallel dp = new DataParallel(group, held, bucketBytes);
        try {
            dp.broadcastParameters(0);
        } catch (RuntimeException e) {
            dp.close();
            throw e;
        }
        return dp;
    }

    static List<Tensor> checkedParams(TrainingGroup group, List<Tensor> params) {
        if (group == null) {
            throw new IllegalArgumentException("group must not be null");
        }
        if (params == null || params.isEmpty()) {
            throw new IllegalArgumentException("params must hold at least one tensor, got "
                    + (params == null ? "null" : "none"));
        }
        List<Tensor> held = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            Tensor t = params.get(i);
            if (t == null || t.isNull() || !t.defined()) {
                throw new IllegalArgumentException("params[" + i + "] is null or undefined");
            }
            if (t.is_sparse() || !t.is_floating_point()) {
                throw new IllegalArgumentException("params[" + i + "] must be a dense floating-point tensor, got "
                        + t.scalar_type() + (t.is_sparse() ? " (sparse)" : ""));
            }
            held.add(NativeMemory.outliveScope(new Tensor(t)));
        }
        return held;
    }

    /** Refuses, on every rank alike, parameters that differ across ranks in number, shape or dtype. */
    static void requireSameParameters(TrainingGroup group, List<Tensor> params) {
        Tensor like = params.get(0);
        SmallCollectives.requireSameOnEveryRank(group, new long[]{params.size()}, like,
                i -> "the number of parameters");
        long[] signatures = new long[params.size()];
        for (int i = 0; i < signatures.length; i++) {
            signatures[i] = SmallCollectives.signature(params.get(i));
        }
        SmallCollectives.requireSameOnEveryRank(group, signatures, like, i -> "the shape or dtype of params[" + i
                + "] (shape " + Arrays.toString(params.get(i).shape()) + ", " + params.get(i).scalar_type()
                + " on rank " + group.rank() + ")", i -> false);
    }

    /**
     * Overwrites every rank's parameters with rank {@code root}'s, bucket by bucket. A collective.
     *
     * @throws IllegalArgumentException if {@code root} is not a rank
     * @throws DistributedException     if a rank fails or times out
     */
    public void broadcastParameters(int root) {
        requireOpen();
        if (root < 0 || root >= group.worldSize()) {
            throw new IllegalArgumentException("root must be in [0, " + group.worldSize() + "), got " + root);
        }
        buffers.broadcast(group, params, root);
    }

    /**
     * Replaces every parameter's gradient by its average over the ranks; call it after {@code backward()} and
     * before {@code step()}. A collective: every rank calls it once per step. Costs one small all-reduce of which
     * parameters have gradients, then one all-reduce per bucket.
     *
     * @throws DistributedException if a rank fails or times out
     */
    public void averageGradients() {
        requireOpen();
        if (group.worldSize() == 1) {
            return;
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < params.size(); i++) {
                hasGrad[i] = params.get(i).grad().defined() ? 1 : 0;
            }
            long[] ranksWithGrad = SmallCollectives.allReduce(group, hasGrad,
                    org.bytedeco.pytorch.ReduceOp.RedOpType.SUM, params.get(0), "gradient presence all-reduce");
            Scalar inverse = new Scalar(1.0 / group.worldSize());
            for (FlatBuffers.Buffer bucket : buffers.buffers) {
                for (int m = 0; m < bucket.indices.length; m++) {
                    int i = bucket.indices[m];
                    Tensor grad = params.get(i).grad();
                    if (grad.defined()) {
                        bucket.views.get(m).copy_(grad);
                    } else {
                        bucket.views.get(m).zero_();
                    }
                }
                group.allReduce(bucket.flat, org.bytedeco.pytorch.ReduceOp.RedOpType.SUM, "gradient all-reduce");
                bucket.flat.mul_(inverse);
                for (int m = 0; m < bucket.indices.length; m++) {
                    int i = bucket.indices[m];
                    if (ranksWithGrad[i] == 0) {
                        continue;
                    }
                    Tensor param = params.get(i);
                    Tensor grad = param.mutable_grad();
                    if (grad.defined()) {
                        grad.copy_(bucket.views.get(m));
                    } else {
                        Tensor fresh = zeros_like(param);
                        fresh.copy_(bucket.views.get(m));
                        grad.put(fresh);
                    }
                }
            }
        }
    }

    /** The group this runs over. */
    public TrainingGroup group() {
        return group;
    }

    /** The parameters, in the order given. */
    public List<Tensor> parameters() {
        return Collections.unmodifiableList(params);
    }

    /** The number of buckets the gradients travel in. */
    public int bucketCount() {
        return buffers.buffers.size();
    }

    /** Bytes of the preallocated gradient buckets. */
    public long bucketBytes() {
        return buffers.bytes();
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this DataParallel is closed");
        }
    }

    /** Frees the buckets; the parameters and the group are untouched. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        buffers.close();
        params.forEach(NativeMemory::release);
    }
}
