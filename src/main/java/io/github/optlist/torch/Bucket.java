package io.github.optlist.torch;

import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.bytedeco.pytorch.global.torch.full;

/**
 * Parameters of one group that share a device, a dtype and a step count, and so take one set of multi-tensor or
 * fused calls per step. The tensor lists those calls need are built on first use and kept for as long as the same
 * parameters form the bucket, so that a step only builds the list of gradients.
 */
final class Bucket {

    /**
     * A step count so large that {@code beta^t} underflows to 0 for every {@code beta < 1}: the fused kernels' own
     * bias corrections become exactly 1, and the optimizer applies its own through the step size.
     */
    private static final double BIAS_CORRECTION_OFF_STEP = 1e30;

    final List<ParamState> states;
    /** The tensor lists built so far, by what they hold; each keeps its tensors alive until {@link #release()}. */
    private final Map<String, IValue> lists = new HashMap<>();

    Bucket(List<ParamState> states) {
        this.states = List.copyOf(states);
    }

    IValue params() {
        return cached("params", state -> state.param);
    }

    IValue expAvgs() {
        return cached("expAvgs", state -> state.expAvg);
    }

    IValue expAvgSqs() {
        return cached("expAvgSqs", state -> state.expAvgSq);
    }

    IValue scratches() {
        return cached("scratches", ParamState::scratch);
    }

    IValue l2Gradients() {
        return cached("l2Gradients", ParamState::l2Gradient);
    }

    /** The fused kernels' {@code state_steps}: one float32 scalar on the bucket's device, once per tensor. */
    IValue stepsWithoutBiasCorrection() {
        return lists.computeIfAbsent("steps", name -> {
            Tensor step = full(new long[0], new Scalar(BIAS_CORRECTION_OFF_STEP),
                    new TensorOptions(ScalarType.Float).device(new DeviceOptional(states.get(0).param.device())));
            return NativeMemory.outliveScope(AtenOps.tensorList(Collections.nCopies(states.size(), step)));
        });
    }

    private IValue cached(String name, Function<ParamState, Tensor> tensorOf) {
        return lists.computeIfAbsent(name, n -> NativeMemory.outliveScope(list(tensorOf)));
    }

    private IValue list(Function<ParamState, Tensor> tensorOf) {
        List<Tensor> tensors = new ArrayList<>(states.size());
        for (ParamState state : states) {
            tensors.add(tensorOf.apply(state));
        }
        return AtenOps.tensorList(tensors);
    }

    /** Drops the bucket's references to the tensors; the state tensors themselves stay with their parameters. */
    void release() {
        lists.values().forEach(NativeMemory::release);
        lists.clear();
    }

    /**
     * The buckets of one group, kept from step to step. Normally every parameter of a group has a gradient at every
     * step and the same step count, so the group is one bucket built once.
     */
    static final class Cache {

        private List<Bucket> buckets = List.of();

        /** A bucket for each set of states, reusing the previous step's bucket of the same set; frees the others. */
        List<Bucket> bucketsFor(List<List<ParamState>> sets) {
            List<Bucket> next = new ArrayList<>(sets.size());
            for (List<ParamState> set : sets) {
                Bucket match = null;
                for (Bucket bucket : buckets) {
                    if (bucket.states.equals(set)) {
                        match = bucket;
                        break;
                    }
                }
                next.add(match != null ? match : new Bucket(set));
            }
            for (Bucket bucket : buckets) {
                if (!next.contains(bucket)) {
                    bucket.release();
                }
            }
            buckets = next;
            return next;
        }

        /** Frees every bucket, e.g. when the state tensors were replaced. */
        void clear() {
            buckets.forEach(Bucket::release);
            buckets = List.of();
        }
    }
}
