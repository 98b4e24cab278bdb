package io.github.optlist.torch;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

/** {@code zeroGrad()} of an optimizer's groups, as torch's: to none, or detached and zeroed in place. */
final class GradientZeroing {

    private GradientZeroing() {
    }

    /**
     * Clears the gradients of every group (as {@link #zeroGrad(GroupStepper, boolean)}); without {@code setToNone},
     * refuses first, changing none, if one cannot be zeroed in place.
     */
    static void zeroGrad(List<GroupStepper> groups, boolean setToNone) {
        if (!setToNone) {
            groups.forEach(GradientZeroing::requireZeroable);
        }
        groups.forEach(group -> zeroGrad(group, setToNone));
    }

    /** Refuses, changing nothing, a gradient that cannot be zeroed in place (an expanded one). */
    private static void requireZeroable(GroupStepper group) {
        try (PointerScope scope = new PointerScope()) {
            for (ParamState state : group.states()) {
                Tensor grad = state.param.grad();
                if (grad.defined()) {
                    TensorChecks.requireZeroableGradient(grad, state.position);
                }
            }
        }
    }

    /** Clears the gradients: to none if {@code setToNone}, else detached from any graph and zeroed in place. */
    private static void zeroGrad(GroupStepper group, boolean setToNone) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (Tensor param : group.group().params()) {
                Tensor grad = param.mutable_grad();
                if (!grad.defined()) {
                    continue;
                }
                if (setToNone) {
                    grad.reset();
                } else {
                    // As torch: detach_() refuses views (e.g. gradients that are views of a bucket), and only a
                    // gradient with a graph needs it.
                    if (!grad.is_leaf()) {
                        grad.detach_();
                    } else if (grad.requires_grad()) {
                        grad.requires_grad_(false);
                    }
                    grad.zero_();
                }
            }
        }
    }
}
