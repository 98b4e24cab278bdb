package io.github.optlist.distributed;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Arrays;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/** Small collectives of integers, shared by this package. */
final class Native {

    private Native() {
    }

    /** {@code values} reduced over all ranks with {@code op}; {@code like} gives the device the collective runs on. */
    static long[] allReduce(TrainingGroup group, long[] values, ReduceOp.RedOpType op, Tensor like, String what) {
        try (PointerScope scope = new PointerScope()) {
            Tensor host = org.bytedeco.pytorch.global.torch.from_blob(new LongPointer(values),
                    new long[]{values.length}, new TensorOptions(ScalarType.Long)).clone();
            Tensor onDevice = like == null || !like.is_cuda() ? host : host.to(like.device(), ScalarType.Long);
            group.allReduce(onDevice, op, what);
            Tensor back = onDevice.cpu().contiguous();
            long[] out = new long[values.length];
            back.data_ptr_long().get(out);
            return out;
        }
    }

    /**
     * Refuses, on every rank alike, values that differ across ranks: {@code describe} names entry {@code i}, as in
     * "the number of parameters".
     *
     * @throws DistributedException naming the first entry that differs, with its smallest and largest value
     */
    static void requireSameOnEveryRank(TrainingGroup group, long[] values, Tensor like, IntFunction<String> describe) {
        requireSameOnEveryRank(group, values, like, describe, i -> true);
    }

    /** As above; {@code showValues} false for fingerprints, whose numbers mean nothing to the reader. */
    static void requireSameOnEveryRank(TrainingGroup group, long[] values, Tensor like, IntFunction<String> describe,
                                       IntPredicate showValues) {
        if (group.worldSize() == 1) {
            return;
        }
        long[] min = allReduce(group, values, ReduceOp.RedOpType.MIN, like, "agreement check");
        long[] max = allReduce(group, values, ReduceOp.RedOpType.MAX, like, "agreement check");
        for (int i = 0; i < values.length; i++) {
            if (min[i] != max[i]) {
                String range = showValues.test(i) ? " (rank " + group.rank() + " has " + values[i]
                        + ", the ranks range over [" + min[i] + ", " + max[i] + "])" : "";
                throw new DistributedException("ranks disagree on " + describe.apply(i) + range
                        + "; every rank must build the same model and optimizer");
            }
        }
    }

    /** A fingerprint of a tensor's shape and dtype, equal on every JVM for equal shapes and dtypes. */
    static long signature(Tensor tensor) {
        long[] shape = tensor.shape();
        return Arrays.hashCode(shape) * 31L + tensor.scalar_type().value * 1_000_003L + shape.length;
    }
}
