package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;
import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Arrays;
import java.util.Set;

/**
 * The one place that decides which path updates a parameter at a step: the fastest that the options allow and that
 * can run on it. A pure function of plain facts, so that tests can ask it with made-up ones.
 *
 * <p>The fused kernels need a CPU or CUDA device, one of their dtypes, a gradient of the parameter's dtype, and
 * parameter and gradient dense, non-overlapping and with the same strides in every dimension longer than 1 (any
 * such layout, channels-last included, as in torch); a widened update runs on float32 copies laid out alike, so
 * only the device matters then. They cannot run the step at which an entry's L2 term and decoupled decay would
 * divide by zero ({@link NAdamWUpdate#fusedCanRun}). The multi-tensor ops need only this LibTorch to have them.
 */
final class PathDecision {

    /**
     * The path chosen for one parameter at one step, and why it is slower than the path asked for; empty if not.
     *
     * @param path           the path that runs
     * @param fallbackReason why, naming the parameter; empty when {@code path} is the one asked for
     */
    record PathChoice(UpdatePath path, String fallbackReason) {
    }

    /**
     * What the decision looks at, for one parameter and its gradient.
     *
     * @param position           where the parameter stands, e.g. {@code params[2] of group 0}
     * @param device             the parameter's device as a name, e.g. {@code cuda:0}
     * @param cpuOrCuda          whether that device is a CPU or CUDA device
     * @param dtype              the parameter's {@code ScalarType} value
     * @param stateDtype         the {@code ScalarType} value the update is computed in
     * @param gradDtype          the gradient's {@code ScalarType} value
     * @param dense              whether the parameter is dense and non-overlapping
     * @param strides            the parameter's strides
     * @param gradLaidOutAsParam whether the gradient has the parameter's strides in every dimension longer than 1
     * @param gradStrides        the gradient's strides, for the message; may be null when {@code gradLaidOutAsParam}
     */
    record Facts(String position, String device, boolean cpuOrCuda, int dtype, int stateDtype, int gradDtype,
                 boolean dense, long[] strides, boolean gradLaidOutAsParam, long[] gradStrides) {

        /** Whether the update runs on float32 copies of a half-precision parameter. */
        boolean widened() {
            return stateDtype != dtype;
        }
    }

    private static final PathChoice FUSED_AS_ASKED = new PathChoice(UpdatePath.FUSED, "");
    private static final PathChoice MULTI_TENSOR_AS_ASKED = new PathChoice(UpdatePath.MULTI_TENSOR, "");
    private static final PathChoice SINGLE_TENSOR_AS_ASKED = new PathChoice(UpdatePath.SINGLE_TENSOR, "");
    private static final Set<Integer> FUSED_DTYPES = Set.of((int) ScalarType.Double.value,
            (int) ScalarType.Float.value, (int) ScalarType.Half.value, (int) ScalarType.BFloat16.value);

    private PathDecision() {
    }

    /**
     * The path for one parameter at one step.
     *
     * @param asked          the fastest path the options allow
     * @param atenOpsPresent whether this LibTorch has the multi-tensor and fused operators
     * @param facts          the parameter and its gradient
     * @param config         the parameter's group configuration
     * @param step           the update's step (0-based), for the message
     * @param stepSize       the bias-corrected step size {@code lr_t} of that step
     */
    static PathChoice choose(UpdatePath asked, boolean atenOpsPresent, Facts facts, NAdamWConfig config, long step,
                             double stepSize) {
        if (asked == UpdatePath.SINGLE_TENSOR) {
            return SINGLE_TENSOR_AS_ASKED;
        }
        if (!atenOpsPresent) {
            return new PathChoice(UpdatePath.SINGLE_TENSOR,
                    "this LibTorch lacks the multi-tensor and fused operators this library calls");
        }
        if (asked == UpdatePath.MULTI_TENSOR) {
            return MULTI_TENSOR_AS_ASKED;
        }
        String refusal = fusedKernelRefusal(facts, config, step, stepSize);
        return refusal == null ? FUSED_AS_ASKED : new PathChoice(UpdatePath.MULTI_TENSOR, refusal);
    }

    /** Why the fused kernels cannot update this parameter at this step, or null if they can. */
    private static String fusedKernelRefusal(Facts facts, NAdamWConfig config, long step, double stepSize) {
        String position = facts.position();
        if (!facts.cpuOrCuda()) {
            return position + " is on " + facts.device() + "; the fused kernels run on CPU and CUDA";
        }
        if (!FUSED_DTYPES.contains(facts.stateDtype())) {
            return position + " is updated in " + ScalarTypes.of(facts.stateDtype())
                    + "; the fused kernels take Double, Float, Half and BFloat16";
        }
        if (!facts.widened()) {
            if (facts.gradDtype() != facts.dtype()) {
                return position + " has dtype " + ScalarTypes.of(facts.dtype()) + " but its gradient "
                        + ScalarTypes.of(facts.gradDtype());
            }
            if (!facts.dense()) {
                return position + " is not dense and non-overlapping (strides " + Arrays.toString(facts.strides())
                        + ")";
            }
            if (!facts.gradLaidOutAsParam()) {
                return position + " has strides " + Arrays.toString(facts.strides()) + " but its gradient "
                        + Arrays.toString(facts.gradStrides());
            }
        }
        if (!NAdamWUpdate.fusedCanRun(config, stepSize)) {
            return "the decoupled decay of " + config.name() + " would wipe the parameters at step " + step
                    + " (1 - lr_t * adamwWeightDecay == 0), which the fused mapping divides by";
        }
        return null;
    }
}
