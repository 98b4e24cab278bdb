package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.ParamGroup;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/** Small collectives of integers, shared by this package. */
final class SmallCollectives {

    private SmallCollectives() {
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

    /** Whether {@code ok} holds on every rank: one all-reduce, the same answer everywhere. */
    static boolean allAgree(TrainingGroup group, boolean ok, Tensor like, String what) {
        long[] all = {ok ? 1 : 0};
        if (group.worldSize() > 1) {
            all = allReduce(group, all, ReduceOp.RedOpType.MIN, like, what);
        }
        return all[0] == 1;
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

    /**
     * Refuses, on every rank alike, optimizer settings that differ across ranks, naming the first that does: the
     * number of groups, the training length, the variant, the options, and per group the number of parameters and
     * every field of the configuration (compared by value through {@link CanonicalEncoding}).
     */
    static void requireSameSettings(TrainingGroup group, List<ParamGroup> groups, long trainingSteps,
                                            ListVariant variant, OptimizerOptions options) {
        Tensor like = groups.get(0).params().get(0);
        requireSameOnEveryRank(group, new long[]{groups.size()}, like,
                i -> "the number of parameter groups");
        long[] encodedOptions = CanonicalEncoding.of(options);
        int head = 2 + encodedOptions.length;
        long[] settings = new long[head + 2 * groups.size()];
        settings[0] = trainingSteps;
        settings[1] = variant.ordinal();
        System.arraycopy(encodedOptions, 0, settings, 2, encodedOptions.length);
        List<long[]> configs = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            configs.add(CanonicalEncoding.of(groups.get(g).config()));
            settings[head + 2 * g] = groups.get(g).params().size();
            settings[head + 2 * g + 1] = configs.get(g).length;
        }
        IntFunction<String> settingName = i -> i == 0 ? "trainingSteps" : i == 1 ? "the list variant"
                : i < head ? "the optimizer options (" + options + " here)"
                : ((i - head) % 2 == 0 ? "the number of parameters" : "the configuration") + " of group "
                + (i - head) / 2;
        requireSameOnEveryRank(group, settings, like, settingName,
                i -> i < 2 || (i >= head && (i - head) % 2 == 0));
        long[] allConfigs = configs.stream().flatMapToLong(Arrays::stream).toArray();
        int[] groupOf = new int[allConfigs.length];
        for (int g = 0, at = 0; g < configs.size(); at += configs.get(g).length, g++) {
            Arrays.fill(groupOf, at, at + configs.get(g).length, g);
        }
        requireSameOnEveryRank(group, allConfigs, like, i -> "the configuration of group "
                + groupOf[i] + " (" + groups.get(groupOf[i]).config().name() + " here)", i -> false);
    }
}
