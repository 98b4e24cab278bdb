package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.internal.TrainingSteps;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.List;

/**
 * What an optimizer of this library is built from, checked once: the parameter groups (each with its configuration),
 * the training length the schedule is laid out over, the list variant whose warm-up length it uses, and the
 * {@link OptimizerOptions}. The same spec builds either optimizer, and both then run the same update:
 * <pre>{@code
 * OptimizerSpec spec = OptimizerSpec.forIdx(model.parameters(), idx, steps, ListVariant.TASKSET, options);
 * NAdamWCosineDecay opt = NAdamWCosineDecay.of(spec);                      // in one process
 * ZeroRedundancyOptimizer zero = ZeroRedundancyOptimizer.of(group, spec);  // its state sharded over the ranks
 * }</pre>
 * A spec of custom configurations, e.g. without weight decay on biases and norms, names its groups:
 * {@code new OptimizerSpec(NamedParameters.of(module).groupBy(rule), steps, ListVariant.TASKSET, options)}.
 *
 * <p>Construction refuses, with an {@link IllegalArgumentException} naming the value, a training length outside
 * {@code [1, 2^53]}, a null variant or options, and groups no optimizer can run over
 * (none, a null group, a tensor in two groups, tensors sharing memory, a name
 * given twice). It reads the tensors' identities and layouts only: nothing is changed, whether it succeeds or not.
 * The spec holds the groups, which hold references to their tensors.
 *
 * @param groups        the parameter groups, in order; each configuration runs as it says, Nesterov included
 * @param trainingSteps the number of steps training will run, in {@code [1, 2^53]}
 * @param variant       the list variant whose warm-up length the schedule uses ({@link ListVariant#warmupFraction})
 * @param options       how the update runs ({@link OptimizerOptions#DEFAULTS} for the defaults)
 */
public record OptimizerSpec(List<ParamGroup> groups, long trainingSteps, ListVariant variant,
                            OptimizerOptions options) {

    /**
     * Validates; see the class description for what is refused. The settings are checked before the groups.
     *
     * @throws IllegalArgumentException naming the first bad value
     */
    public OptimizerSpec {
        requireSettings(trainingSteps, variant, options);
        ParamGroup.requireDisjoint(groups);
        groups = List.copyOf(groups);
    }

    /**
     * The spec of list entry {@code idx} over a model's tensors, e.g. {@code module.parameters()}, run as the
     * published code {@code variant} names: one unnamed group with {@link OptList#config(int, ListVariant)
     * OptList.config(idx, variant)}; {@link ListVariant#TASKSET} runs it as the list was ranked,
     * {@link ListVariant#TORCH_PORT} as the published PyTorch binding, step for step. A tensor {@code params} lists
     * again (a model's tied weights) is taken once, at its first place, as Python's {@code model.parameters()} lists
     * it (see {@link ParamGroup#of(TensorVector, NAdamWConfig)}).
     *
     * @throws IllegalArgumentException if {@code idx} is outside {@code [0, OptList.size())}, or as the constructor,
     *                                  or the parameters are null, missing or unusable (see {@link ParamGroup}); the
     *                                  index and settings are checked before a tensor is read
     */
    public static OptimizerSpec forIdx(TensorVector params, int idx, long trainingSteps, ListVariant variant,
                                       OptimizerOptions options) {
        NAdamWConfig entry = entry(idx, trainingSteps, variant, options);
        return new OptimizerSpec(List.of(ParamGroup.of(params, entry)), trainingSteps, variant, options);
    }

    /**
     * As {@link #forIdx(TensorVector, int, long, ListVariant, OptimizerOptions)} over a model's trainable parameters
     * with their names ({@code NamedParameters.of(jitModule)}, {@code NamedParameters.of(module)}), in one named
     * group, so that checkpoints match them by name.
     *
     * @throws IllegalArgumentException as that method, or if {@code params} is null
     */
    public static OptimizerSpec forIdx(NamedParameters params, int idx, long trainingSteps, ListVariant variant,
                                       OptimizerOptions options) {
        NAdamWConfig entry = entry(idx, trainingSteps, variant, options);
        if (params == null) {
            throw new IllegalArgumentException("params must not be null");
        }
        return new OptimizerSpec(List.of(params.group(entry)), trainingSteps, variant, options);
    }

    /** List entry {@code idx} under {@code variant}, once the index and the settings are checked. */
    private static NAdamWConfig entry(int idx, long trainingSteps, ListVariant variant, OptimizerOptions options) {
        NAdamWConfig published = OptList.config(idx); // refuses a bad index before the settings are read
        requireSettings(trainingSteps, variant, options);
        return variant.apply(published);
    }

    private static void requireSettings(long trainingSteps, ListVariant variant, OptimizerOptions options) {
        TrainingSteps.require(trainingSteps);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
    }

    /**
     * This spec with {@code group} added after its groups, as {@code NAdamWCosineDecay.addParamGroup} grows it.
     *
     * @throws IllegalArgumentException if {@code group} is null or shares a tensor, memory or a name with a group
     *                                  of this spec
     */
    OptimizerSpec withGroup(ParamGroup group) {
        if (group == null) {
            throw new IllegalArgumentException("group must not be null");
        }
        List<ParamGroup> grown = new ArrayList<>(groups);
        grown.add(group);
        return new OptimizerSpec(grown, trainingSteps, variant, options);
    }
}
