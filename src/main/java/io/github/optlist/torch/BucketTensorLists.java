package io.github.optlist.torch;

import io.github.optlist.internal.AtenOps;
import io.github.optlist.internal.NativeMemory;
import org.bytedeco.javacpp.PointerScope;
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

import static io.github.optlist.internal.AtenOps.Ops.COPY_;
import static io.github.optlist.internal.AtenOps.bool;
import static io.github.optlist.internal.AtenOps.call;
import static org.bytedeco.pytorch.global.torch.full;

/**
 * The tensor lists of one bucket: the parameters of one group that share a device, dtype, step count and update
 * path at a step, and so take one set of multi-tensor or fused calls. The lists those calls need are built on first
 * use and kept for as long as the same parameters form the bucket, so that a step only builds the list of
 * gradients. A group's are kept from step to step by its {@link GroupStepper}.
 */
final class BucketTensorLists {

    /**
     * A step count so large that {@code beta^t} underflows to 0 for every {@code beta < 1}: the fused kernels' own
     * bias corrections become exactly 1, and the optimizer applies its own through the step size.
     */
    private static final double BIAS_CORRECTION_OFF_STEP = 1e30;

    final List<ParamState> states;
    /** Whether the update runs on float32 copies of half-precision parameters; see {@link ParamState#widened()}. */
    final boolean widened;
    /** The tensor lists built so far, by what they hold; each keeps its tensors alive until {@link #release()}. */
    private final Map<String, IValue> lists = new HashMap<>();

    BucketTensorLists(List<ParamState> states) {
        this.states = List.copyOf(states);
        this.widened = this.states.get(0).widened();
    }

    /** The tensors the update runs on: the parameters, or their float32 master or working copies. */
    IValue targets() {
        return cached("targets", ParamState::target);
    }

    IValue expAvgs() {
        return cached("expAvgs", state -> state.expAvg);
    }

    IValue expAvgSqs() {
        return cached("expAvgSqs", state -> state.expAvgSq);
    }

    IValue scratches() {
        return cached("scratches", state -> state.buffers().scratch());
    }

    IValue l2Gradients() {
        return cached("l2Gradients", state -> state.buffers().l2Gradient());
    }

    /**
     * Before a widened update: refreshes the float32 working copies from the parameters (unless the update runs on
     * master copies) and copies the gradients into float32; returns the gradients the update is to read.
     */
    IValue widen(IValue grads) {
        if (!widened) {
            return grads;
        }
        if (states.get(0).workToRefresh() != null) {
            call(COPY_, targets(), cached("params", state -> state.param), bool(false));
        }
        IValue gradWorks = cached("gradWorks", state -> state.buffers().gradWork());
        call(COPY_, gradWorks, grads, bool(false));
        return gradWorks;
    }

    /** After a widened update: rounds the float32 results into the parameters, once. */
    void roundIntoParams() {
        if (widened) {
            call(COPY_, cached("params", state -> state.param), targets(), bool(false));
        }
    }

    /** The fused kernels' {@code state_steps}: one float32 scalar on the bucket's device, once per tensor. */
    IValue stepsWithoutBiasCorrection() {
        return lists.computeIfAbsent("steps", name -> {
            Tensor step = full(new long[0], new Scalar(BIAS_CORRECTION_OFF_STEP),
                    new TensorOptions(ScalarType.Float).device(new DeviceOptional(states.get(0).param.device())));
            return NativeMemory.outliveScope(AtenOps.tensorList(Collections.nCopies(states.size(), step)));
        });
    }

    /**
     * The fused kernels' {@code grad_scale}: one float32 scalar on the bucket's device holding {@code scale}, made
     * once and refilled in place.
     */
    IValue gradScale(double scale) {
        IValue value = lists.computeIfAbsent("gradScale", name -> {
            try (PointerScope scope = new PointerScope()) {
                return NativeMemory.outliveScope(new IValue(full(new long[0], new Scalar(scale),
                        new TensorOptions(ScalarType.Float).device(new DeviceOptional(states.get(0).param.device())))));
            }
        });
        try (Scalar filler = new Scalar(scale)) {
            value.toTensor().fill_(filler);
        }
        return value;
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
}
