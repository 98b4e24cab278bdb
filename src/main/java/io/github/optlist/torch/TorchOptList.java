package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import org.bytedeco.pytorch.TensorVector;

/**
 * The entry point mirroring the published {@code torch_opt_list.optimizer_for_idx}: an optimizer for one entry
 * of the {@link OptList}. For another {@link ListVariant}, other {@link OptimizerOptions} or several groups, build
 * an {@link OptimizerSpec} and pass it to {@link NAdamWCosineDecay#of(OptimizerSpec)}:
 * <pre>{@code
 * NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(model.parameters(), idx, trainingSteps);
 * NAdamWCosineDecay port = NAdamWCosineDecay.of(OptimizerSpec.forIdx(NamedParameters.of(jitModule), idx,
 *         trainingSteps, ListVariant.TORCH_PORT, options));
 * }</pre>
 */
public final class TorchOptList {

    private TorchOptList() {
    }

    /**
     * The optimizer of list entry {@code idx} over {@code params}, run as the list was ranked
     * ({@link ListVariant#TASKSET}: the shorter warm-up, and no Nesterov even for entries that name it), with the
     * default options: {@code NAdamWCosineDecay.of(OptimizerSpec.forIdx(params, idx, trainingSteps,
     * ListVariant.TASKSET, OptimizerOptions.DEFAULTS))}.
     *
     * @param params        the tensors to update, e.g. {@code module.parameters()}; a tensor listed again (tied
     *                      weights) is taken once, at its first place, as Python's {@code model.parameters()} lists
     *                      it (see {@link ParamGroup#of(TensorVector, io.github.optlist.NAdamWConfig)})
     * @param idx           the list index, 0 first
     * @param trainingSteps the number of steps training will run; the schedule is laid out over it
     * @throws IllegalArgumentException if {@code idx} is outside {@code [0, OptList.size())}, {@code trainingSteps}
     *                                  is outside {@code [1, 2^53]}, or the parameters are missing or unusable (see
     *                                  {@link ParamGroup})
     */
    public static NAdamWCosineDecay optimizerForIdx(TensorVector params, int idx, long trainingSteps) {
        return NAdamWCosineDecay.of(OptimizerSpec.forIdx(params, idx, trainingSteps, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS));
    }

    /**
     * As {@link #optimizerForIdx(TensorVector, int, long)} over a model's trainable parameters with their names
     * ({@code NamedParameters.of(jitModule)} or {@code NamedParameters.of(module)}: {@code requires_grad} ones, in
     * {@code named_parameters} order, a tied tensor once under its first name), so that checkpoints match them by
     * name.
     *
     * @throws IllegalArgumentException as {@link #optimizerForIdx(TensorVector, int, long)}, or if {@code params} is
     *                                  null
     */
    public static NAdamWCosineDecay optimizerForIdx(NamedParameters params, int idx, long trainingSteps) {
        return NAdamWCosineDecay.of(OptimizerSpec.forIdx(params, idx, trainingSteps, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS));
    }
}
