package io.github.optlist.torch;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.List;

/**
 * The registration of a {@link NAdamWCosineDecay}'s groups, and the checks of what it is built from and given later
 * (its schedule, options and groups), each refusing before any tensor is touched.
 */
final class Registration {

    private Registration() {
    }

    /** Refuses a training length that is not positive and a null variant. */
    static void requireSchedule(long trainingSteps, ListVariant variant) {
        CosineSchedule.requireTrainingSteps(trainingSteps);
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
    }

    /** One group of {@code params}; the schedule is checked first, so that bad settings are refused unread. */
    static List<ParamGroup> singleGroup(TensorVector params, NAdamWConfig config, long trainingSteps,
                                        ListVariant variant) {
        requireSchedule(trainingSteps, variant);
        return List.of(ParamGroup.of(params, config));
    }

    /** Refuses bad settings, null options, and groups that share a tensor or memory. */
    static void requireSettings(List<ParamGroup> groups, long trainingSteps, ListVariant variant,
                                OptimizerOptions options) {
        requireSchedule(trainingSteps, variant);
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        ParamGroup.requireDisjoint(groups);
    }

    /** Adds a stepper for {@code group}, checked beforehand, to {@code groups}: the next group index. */
    static void add(List<GroupStepper> groups, ParamGroup group, long trainingSteps, ListVariant variant,
                    OptimizerOptions options) {
        groups.add(new GroupStepper(groups.size(), group, trainingSteps, variant, options));
    }

    /** Refuses a null {@code group}, and one sharing a tensor or memory with the {@code existing} groups. */
    static void requireAddable(List<ParamGroup> existing, ParamGroup group) {
        if (group == null) {
            throw new IllegalArgumentException("group must not be null");
        }
        List<ParamGroup> all = new ArrayList<>(existing);
        all.add(group);
        ParamGroup.requireDisjoint(all);
    }
}
