package io.github.optlist.torch;

import io.github.optlist.internal.Messages;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.List;
import java.util.Objects;

/**
 * The per-parameter view of an optimizer's state ({@link NAdamWCosineDecay#stateDict},
 * {@link NAdamWCosineDecay#loadStateDict}, {@link NAdamWCosineDecay#stepCount(Tensor)}): finds a parameter's state
 * among the groups, copies it out, and replaces it after checking the replacement.
 */
final class ParamStateAccess {

    /** The optimizer's groups, live: a group added later is found too. */
    private final List<GroupStepper> groups;
    private final StatePrecision statePrecision;

    ParamStateAccess(List<GroupStepper> groups, StatePrecision statePrecision) {
        this.groups = groups;
        this.statePrecision = statePrecision;
    }

    /**
     * The state of {@code param}.
     *
     * @throws IllegalArgumentException if {@code param} is null or undefined, or no group holds it
     */
    ParamState find(Tensor param) {
        if (param == null || param.isNull() || !param.defined()) {
            throw new IllegalArgumentException("param must be a defined tensor");
        }
        long identity = TensorChecks.identity(param);
        return groups.stream().map(group -> group.stateOf(identity)).filter(Objects::nonNull).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("this optimizer does not hold the given tensor"));
    }

    /** A copy of {@code param}'s state, owned by the caller. */
    OptimizerState.Param copy(Tensor param) {
        ParamState state = find(param);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return state.dict(true);
        }
    }

    /**
     * Replaces {@code param}'s state with a copy of {@code state}, checked first (a refused one changes nothing),
     * and drops the groups' tensor lists, which held the old tensors.
     */
    void replace(Tensor param, OptimizerState.Param state) {
        ParamState target = find(param);
        target.requireLoadable(state);
        ParamState.Loaded loaded;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            loaded = target.prepare(state, statePrecision);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot convert the state of " + target.position + " to its device and"
                    + " dtype: " + Messages.firstLine(e) + "; nothing was changed", e);
        }
        target.commit(loaded);
        groups.forEach(GroupStepper::clearCaches);
    }
}
