package io.github.optlist.torch.files;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

/**
 * An optimizer's state as the files of this package hold it: what {@code io.github.optlist.torch.OptimizerState}
 * holds, in plain values, so that the formats need not import the optimizer that calls them. The optimizer's package
 * converts it to and from its state value, whose constructors check it.
 *
 * @param trainingSteps  the training length the schedule is laid out over
 * @param variant        the list variant (null if a file says none)
 * @param statePrecision the name of the state precision (one of {@link Checkpoints#STATE_PRECISIONS}, or null if a
 *                       file says none)
 * @param stepCount      the number of completed steps
 * @param groups         the groups' states, in order
 */
public record FileState(long trainingSteps, ListVariant variant, String statePrecision, long stepCount,
                        List<Group> groups) {

    /** Copies the list. */
    public FileState {
        groups = List.copyOf(groups);
    }

    /**
     * One group's part: its configuration, its parameters' names (empty when unnamed) and their states in order.
     *
     * @param config     the group's configuration
     * @param paramNames the parameters' names, or an empty list
     * @param params     the parameters' states
     */
    public record Group(NAdamWConfig config, List<String> paramNames, List<Param> params) {

        /** Copies the lists. */
        public Group {
            paramNames = List.copyOf(paramNames);
            params = List.copyOf(params);
        }
    }

    /**
     * One parameter's state: its step count and, when the step is above 0, both moments and (under master weights,
     * for a half-precision parameter) its float32 master copy.
     *
     * @param step     the number of updates applied to the parameter
     * @param expAvg   the first moment, or null at step 0
     * @param expAvgSq the second moment, or null at step 0
     * @param master   the float32 master copy, or null
     */
    public record Param(long step, Tensor expAvg, Tensor expAvgSq, Tensor master) {

        /** The state of a parameter that was never updated. */
        public static Param empty() {
            return new Param(0, null, null, null);
        }

        /** Whether the parameter has moments ({@code step > 0}). */
        public boolean hasMoments() {
            return step > 0;
        }
    }
}
