package io.github.optlist.torch;

import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
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
    private final List<IValue> kept = new ArrayList<>();
    private IValue params;
    private IValue expAvgs;
    private IValue expAvgSqs;
    private IValue scratches;
    private IValue l2Gradients;
    private IValue stepsWithoutBiasCorrection;

    Bucket(List<ParamState> states) {
        this.states = List.copyOf(states);
    }

    IValue params() {
        if (params == null) {
            params = keep(list(state -> state.param));
        }
        return params;
    }

    IValue expAvgs() {
        if (expAvgs == null) {
            expAvgs = keep(list(state -> state.expAvg));
        }
        return expAvgs;
    }

    IValue expAvgSqs() {
        if (expAvgSqs == null) {
            expAvgSqs = keep(list(state -> state.expAvgSq));
        }
        return expAvgSqs;
    }

    IValue scratches() {
        if (scratches == null) {
            scratches = keep(list(ParamState::scratch));
        }
        return scratches;
    }

    IValue l2Gradients() {
        if (l2Gradients == null) {
            l2Gradients = keep(list(ParamState::l2Gradient));
        }
        return l2Gradients;
    }

    /** The fused kernels' {@code state_steps}: one float32 scalar on the bucket's device, once per tensor. */
    IValue stepsWithoutBiasCorrection() {
        if (stepsWithoutBiasCorrection == null) {
            Tensor step = full(new long[0], new Scalar(BIAS_CORRECTION_OFF_STEP),
                    new TensorOptions(ScalarType.Float).device(new DeviceOptional(states.get(0).param.device())));
            stepsWithoutBiasCorrection = keep(AtenOps.tensorList(Collections.nCopies(states.size(), step)));
        }
        return stepsWithoutBiasCorrection;
    }

    private IValue list(Function<ParamState, Tensor> tensorOf) {
        List<Tensor> tensors = new ArrayList<>(states.size());
        for (ParamState state : states) {
            tensors.add(tensorOf.apply(state));
        }
        return AtenOps.tensorList(tensors);
    }

    private IValue keep(IValue value) {
        kept.add(NativeMemory.outliveScope(value));
        return value;
    }

    /** Drops the bucket's references to the tensors; the state tensors themselves stay with their parameters. */
    void release() {
        kept.forEach(NativeMemory::release);
        kept.clear();
        params = expAvgs = expAvgSqs = scratches = l2Gradients = stepsWithoutBiasCorrection = null;
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
