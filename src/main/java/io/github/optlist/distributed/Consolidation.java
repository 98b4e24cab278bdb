package io.github.optlist.distributed;

import io.github.optlist.internal.ScalarTypes;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerState;
import io.github.optlist.torch.StatePrecision;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The gathering of a {@link ZeroRedundancyOptimizer}'s sharded state: one all-reduce of what each parameter's owner
 * holds (step, state dtype, master copy or not), then per parameter one broadcast of each of its state tensors from
 * its owner, in the owner's dtype: the precision the optimizer was built with.
 */
final class Consolidation {

    /** Receives parameter {@code index}'s whole state, the same on every rank. */
    interface Sink {
        void accept(int index, OptimizerState.Param state);
    }

    private Consolidation() {
    }

    /**
     * Gives {@code sink} every parameter's state, in order, on every rank. With {@code keep}, the tensors stay in
     * the caller's scope; without, each parameter's are freed once {@code sink} returns, so that a rank holds one
     * parameter's state at a time beyond its own share. A collective.
     *
     * @throws DistributedException if a rank fails or times out
     */
    static void gather(ZeroRedundancyOptimizer zero, boolean keep, Sink sink) {
        TrainingGroup group = zero.group();
        List<Tensor> params = zero.params();
        int n = params.size();
        try (PointerScope outer = keep ? null : new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            OptimizerState.Param[] mine = ownedStates(zero);
            long[] meta = new long[3 * n];
            for (int i = 0; i < n; i++) {
                if (mine[i] != null && mine[i].hasMoments()) {
                    meta[i] = mine[i].step();
                    meta[n + i] = mine[i].expAvg().scalar_type().value;
                    meta[2 * n + i] = mine[i].master() != null ? 1 : 0;
                }
            }
            long[] all = group.worldSize() == 1 ? meta
                    : SmallCollectives.allReduce(group, meta, ReduceOp.RedOpType.SUM, params.get(0), "state metadata");
            for (int i = 0; i < n; i++) {
                if (all[i] == 0) {
                    sink.accept(i, OptimizerState.Param.empty());
                    continue;
                }
                try (PointerScope perParam = keep ? null : new PointerScope()) {
                    sink.accept(i, receive(zero, i, mine[i], all[i], (int) all[n + i], all[2 * n + i] == 1));
                }
            }
        }
    }

    /** The whole state of {@code zero}, on every rank, in the caller's scope. A collective. */
    static OptimizerState wholeState(ZeroRedundancyOptimizer zero) {
        OptimizerState.Param[] all = new OptimizerState.Param[zero.params().size()];
        gather(zero, true, (i, state) -> all[i] = state);
        List<OptimizerState.Group> out = new ArrayList<>();
        int base = 0;
        for (var group : zero.paramGroups()) {
            out.add(new OptimizerState.Group(group.config(), group.names(), List.of(all).subList(base,
                    base + group.params().size())));
            base += group.params().size();
        }
        return new OptimizerState(zero.trainingSteps(), zero.variant(), zero.options().statePrecision(),
                zero.stepCount(), out);
    }

    /** Parameter {@code i}'s state: the owner's, broadcast (contiguous, as the receivers' buffers are) to the rest. */
    private static OptimizerState.Param receive(ZeroRedundancyOptimizer zero, int i, OptimizerState.Param owned,
            long step,
                                          int dtype, boolean master) {
        TrainingGroup group = zero.group();
        int owner = zero.ownership().owner(i);
        Tensor[] tensors = new Tensor[master ? 3 : 2];
        if (owner == group.rank()) {
            tensors[0] = owned.expAvg().contiguous();
            tensors[1] = owned.expAvgSq().contiguous();
            if (master) {
                tensors[2] = owned.master().contiguous();
            }
        } else {
            tensors[0] = receiveBuffer(zero, i, dtype);
            tensors[1] = receiveBuffer(zero, i, dtype);
            if (master) {
                tensors[2] = receiveBuffer(zero, i, ScalarType.Float.value);
            }
        }
        if (group.worldSize() > 1) {
            for (Tensor tensor : tensors) {
                group.broadcast(tensor, owner);
            }
        }
        return new OptimizerState.Param(step, tensors[0], tensors[1], master ? tensors[2] : null);
    }

    /** The owned parameters' states by index in {@code zero.params()}, copies in the caller's scope; null elsewhere. */
    private static OptimizerState.Param[] ownedStates(ZeroRedundancyOptimizer zero) {
        OptimizerState.Param[] out = new OptimizerState.Param[zero.params().size()];
        if (zero.localOptimizer().orElse(null) != null) {
            List<OptimizerState.Group> states = zero.localOptimizer().orElse(null).state().groups();
            List<int[]> members = zero.ownership().localMembers();
            for (int g = 0; g < members.size(); g++) {
                for (int k = 0; k < members.get(g).length; k++) {
                    out[members.get(g)[k]] = states.get(g).params().get(k);
                }
            }
        }
        return out;
    }

    /** Allocates a receive buffer of parameter {@code index}'s shape on its device, in dtype {@code code}. */
    private static Tensor receiveBuffer(ZeroRedundancyOptimizer zero, int index, int code) {
        Tensor p = zero.params().get(index);
        return p.new_empty(p.shape(), new TensorOptions(ScalarTypes.of(code)).device(new DeviceOptional(p.device())));
    }

    /**
     * Gives {@code zero}'s share the states of the parameters it owns ({@code stateOf} maps a parameter's number to
     * its state, checked to fit beforehand); returns {@code count}, the step count to take.
     */
    static long keepOwned(ZeroRedundancyOptimizer zero, IntFunction<OptimizerState.Param> stateOf,
            StatePrecision precision,
                          long count) {
        NAdamWCosineDecay local = zero.localOptimizer().orElse(null);
        if (local != null) {
            List<OptimizerState.Group> mine = new ArrayList<>();
            for (int g = 0; g < zero.ownership().localMembers().size(); g++) {
                List<OptimizerState.Param> dicts = new ArrayList<>();
                for (int i : zero.ownership().localMembers().get(g)) {
                    dicts.add(stateOf.apply(i));
                }
                mine.add(new OptimizerState.Group(local.paramGroups().get(g).config(), dicts));
            }
            local.loadState(new OptimizerState(zero.trainingSteps(), zero.variant(), precision, count, mine));
        }
        return count;
    }
}
