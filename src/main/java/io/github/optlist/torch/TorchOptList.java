package io.github.optlist.torch;

import io.github.optlist.OptList;
import io.github.optlist.ScheduleVariant;
import org.bytedeco.pytorch.TensorVector;

/**
 * The entry point mirroring the published {@code torch_opt_list.optimizer_for_idx}: an optimizer for one entry
 * of the {@link OptList}.
 */
public final class TorchOptList {

    private TorchOptList() {
    }

    /**
     * The optimizer of list entry {@code idx} over {@code params}, with the {@link ScheduleVariant#TASKSET}
     * schedule the list was ranked with.
     *
     * @param params        the tensors to update, e.g. {@code module.parameters()}
     * @param idx           the list index, 0 first
     * @param trainingSteps the number of steps training will run; the schedule is laid out over it
     * @throws IllegalArgumentException if {@code idx} is outside {@code [0, OptList.size())}, {@code trainingSteps <= 0},
     *                                  or the parameters are missing or unusable (see {@link ParamGroup})
     */
    public static NAdamWCosineDecay optimizerForIdx(TensorVector params, int idx, long trainingSteps) {
        return optimizerForIdx(params, idx, trainingSteps, ScheduleVariant.TASKSET);
    }

    /**
     * As {@link #optimizerForIdx(TensorVector, int, long)}, with a choice of schedule variant;
     * {@link ScheduleVariant#TORCH_PORT} reproduces the published PyTorch port step for step.
     */
    public static NAdamWCosineDecay optimizerForIdx(TensorVector params, int idx, long trainingSteps,
                                                    ScheduleVariant variant) {
        OptList.requireIndex(idx);
        return new NAdamWCosineDecay(params, OptList.config(idx), trainingSteps, variant);
    }
}
