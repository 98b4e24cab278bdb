package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.TensorVector;

import java.util.List;

/**
 * The entry point mirroring the published {@code torch_opt_list.optimizer_for_idx}: an optimizer for one entry
 * of the {@link OptList}.
 */
public final class TorchOptList {

    private TorchOptList() {
    }

    /**
     * The optimizer of list entry {@code idx} over {@code params}, run as the list was ranked
     * ({@link ListVariant#TASKSET}: the shorter warm-up, and no Nesterov even for entries that name it).
     *
     * @param params        the tensors to update, e.g. {@code module.parameters()}; a tensor listed again (tied
     *                      weights) is taken once, at its first place, as Python's {@code model.parameters()} lists
     *                      it (see {@link ParamGroup#of(TensorVector, io.github.optlist.NAdamWConfig)})
     * @param idx           the list index, 0 first
     * @param trainingSteps the number of steps training will run; the schedule is laid out over it
     * @throws IllegalArgumentException if {@code idx} is outside {@code [0, OptList.size())}, {@code trainingSteps <=
     * 0},
     *                                  or the parameters are missing or unusable (see {@link ParamGroup})
     */
    public static NAdamWCosineDecay optimizerForIdx(TensorVector params, int idx, long trainingSteps) {
        return optimizerForIdx(params, idx, trainingSteps, ListVariant.TASKSET);
    }

    /**
     * As {@link #optimizerForIdx(TensorVector, int, long)}, run as the published code that {@code variant} names:
     * the optimizer's configuration is {@link OptList#config(int, ListVariant) OptList.config(idx, variant)} and
     * its schedule that variant's. {@link ListVariant#TORCH_PORT} reproduces the published PyTorch binding step
     * for step.
     *
     * @throws IllegalArgumentException also if {@code variant} is null
     */
    public static NAdamWCosineDecay optimizerForIdx(TensorVector params, int idx, long trainingSteps,
                                                    ListVariant variant) {
        return optimizerForIdx(params, idx, trainingSteps, variant, OptimizerOptions.DEFAULTS);
    }

    /**
     * As {@link #optimizerForIdx(TensorVector, int, long, ListVariant)}, run with {@code options} (update path,
     * state precision, non-finite handling).
     *
     * @throws IllegalArgumentException also if {@code options} is null
     */
    public static NAdamWCosineDecay optimizerForIdx(TensorVector params, int idx, long trainingSteps,
                                                    ListVariant variant, OptimizerOptions options) {
        OptList.requireIndex(idx);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        CosineSchedule.requireTrainingSteps(trainingSteps);
        return new NAdamWCosineDecay(List.of(ParamGroup.of(params, OptList.config(idx, variant))), trainingSteps,
                variant, options);
    }

    /**
     * The optimizer of list entry {@code idx} over a TorchScript module's trainable parameters ({@code requires_grad}),
     * in {@code named_parameters} order, with their names kept, a tied tensor once under its first name (see
     * {@link NamedParameters}), under {@link ListVariant#TASKSET}.
     *
     * @throws IllegalArgumentException as {@link #optimizerForIdx(TensorVector, int, long)}, or if the module is null
     *                                  or has no trainable parameter
     */
    public static NAdamWCosineDecay optimizerForIdx(JitModule module, int idx, long trainingSteps) {
        return optimizerForIdx(module, idx, trainingSteps, ListVariant.TASKSET);
    }

    /**
     * As {@link #optimizerForIdx(JitModule, int, long)}, run as the published code that {@code variant} names
     * ({@link ListVariant#TORCH_PORT} for a model that came from the published PyTorch binding).
     *
     * @throws IllegalArgumentException also if {@code variant} is null
     */
    public static NAdamWCosineDecay optimizerForIdx(JitModule module, int idx, long trainingSteps,
                                                    ListVariant variant) {
        requireEntry(idx, variant);
        return forNamed(NamedParameters.of(module), idx, trainingSteps, variant);
    }

    /**
     * The optimizer of list entry {@code idx} over a LibTorch C++ module's trainable parameters, in
     * {@code named_parameters} order, with their names kept, under {@link ListVariant#TASKSET}.
     *
     * @throws IllegalArgumentException as {@link #optimizerForIdx(JitModule, int, long)}
     */
    public static NAdamWCosineDecay optimizerForIdx(org.bytedeco.pytorch.Module module, int idx, long trainingSteps) {
        return optimizerForIdx(module, idx, trainingSteps, ListVariant.TASKSET);
    }

    /**
     * As {@link #optimizerForIdx(org.bytedeco.pytorch.Module, int, long)}, run as {@code variant} says.
     *
     * @throws IllegalArgumentException also if {@code variant} is null
     */
    public static NAdamWCosineDecay optimizerForIdx(org.bytedeco.pytorch.Module module, int idx, long trainingSteps,
                                                    ListVariant variant) {
        requireEntry(idx, variant);
        return forNamed(NamedParameters.of(module), idx, trainingSteps, variant);
    }

    private static void requireEntry(int idx, ListVariant variant) {
        OptList.requireIndex(idx);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
    }

    private static NAdamWCosineDecay forNamed(NamedParameters params, int idx, long trainingSteps,
                                              ListVariant variant) {
        return new NAdamWCosineDecay(List.of(params.group(OptList.config(idx, variant))), trainingSteps, variant);
    }
}
