package io.github.optlist.distributed;

import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerState;
import io.github.optlist.torch.ParamGroup;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A {@link ZeroRedundancyOptimizer}'s checkpoint file: one consolidated file in {@link NAdamWCosineDecay#save}'s
 * format, written by rank 0 from the state the owners send it, and read by every rank, which keeps its own part.
 * Both are collectives whose verdict every rank shares.
 */
final class ShardedCheckpoint {

    private ShardedCheckpoint() {
    }

    /** Gathers the state on rank 0 and writes it there; see {@link ZeroRedundancyOptimizer#save}. */
    static void save(ZeroRedundancyOptimizer zero, Path path) throws IOException {
        TrainingGroup group = zero.group();
        List<Tensor> params = zero.params();
        Exception failure = null;
        try (NAdamWCosineDecay full = group.rank() == 0 ? unsharded(zero) : null) {
            if (full != null) {
                full.loadState(stepCountOnly(zero));
            }
            Consolidation.gather(zero, false, (i, state) -> {
                if (full != null) {
                    full.loadStateDict(params.get(i), state);
                }
            });
            if (full != null) {
                try {
                    full.save(path);
                } catch (IOException | RuntimeException e) {
                    failure = e;
                }
            }
        }
        if (!SmallCollectives.allAgree(group, failure == null, params.get(0), "checkpoint save check")) {
            throw group.rank() == 0 ? new IOException("cannot save the sharded optimizer: " + failure.getMessage(),
                    failure) : new IOException("rank 0 could not save the sharded optimizer to " + path
                    + " (see its error)");
        }
    }

    /**
     * Reads the file on every rank and, once every rank has accepted it, gives the owned part to {@code zero}'s
     * share; see {@link ZeroRedundancyOptimizer#load}.
     *
     * @return the step count the file holds, for {@code zero} to take
     */
    static long load(ZeroRedundancyOptimizer zero, Path path) throws IOException {
        TrainingGroup group = zero.group();
        List<Tensor> params = zero.params();
        try (PointerScope scope = new PointerScope(); NAdamWCosineDecay full = unsharded(zero)) {
            IOException failure = null;
            try {
                full.load(path);
            } catch (IOException e) {
                failure = e;
            }
            if (!SmallCollectives.allAgree(group, failure == null, params.get(0), "checkpoint load check")) {
                throw failure != null ? failure
                        : new IOException("another rank could not load " + path + " (see its error); nothing changed");
            }
            return Consolidation.keepOwned(zero, i -> full.stateDict(params.get(i)), zero.options().statePrecision(),
                    full.stepCount());
        }
    }

    /**
     * {@code zero}'s settings and step count over parameters without moments, as a fresh optimizer holds them. Rank 0
     * loads it first and then each parameter's moments as they arrive, so that it never holds the whole state twice
     * (a whole state loaded at once would be copied in full).
     */
    private static OptimizerState stepCountOnly(ZeroRedundancyOptimizer zero) {
        List<OptimizerState.Group> groups = new ArrayList<>();
        for (ParamGroup group : zero.paramGroups()) {
            groups.add(new OptimizerState.Group(group.config(),
                    Collections.nCopies(group.params().size(), OptimizerState.Param.empty())));
        }
        return new OptimizerState(zero.trainingSteps(), zero.variant(), zero.options().statePrecision(),
                zero.stepCount(), groups);
    }

    /** An unsharded optimizer with {@code zero}'s groups and settings, to read or write the file through. */
    private static NAdamWCosineDecay unsharded(ZeroRedundancyOptimizer zero) {
        return NAdamWCosineDecay.of(zero.spec());
    }
}
