package io.github.optlist.torch;

import io.github.optlist.internal.NativeMemory;
import io.github.optlist.internal.NonFiniteCheck;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.bytedeco.pytorch.global.torch.full;

/**
 * Loss scaling for float16 training, with torch's {@code torch.amp.GradScaler} semantics and defaults: the loss is
 * multiplied by a scale before {@code backward()}, so that small gradients do not underflow in float16; the step
 * divides the gradients by the scale again and is skipped when any of them is not finite (the scale was too
 * large); the scale then shrinks by {@code backoffFactor}, and grows by {@code growthFactor} after
 * {@code growthInterval} steps in a row without a skip.
 *
 * <pre>{@code
 * GradScaler scaler = new GradScaler();
 * for (long i = 0; i < trainingSteps; i++) {
 *     opt.zeroGrad();
 *     scaler.scale(loss(model, batch(i))).backward();
 *     scaler.step(opt);        // skipped when a gradient is inf or NaN
 *     scaler.update();
 * }
 * }</pre>
 *
 * <p>A skipped step changes nothing in the optimizer: no parameter, moment or step count, so the schedule and the
 * bias correction count only the steps that ran. The division by the scale happens inside the update, in the
 * state's precision (float32 for float16 parameters under the default {@link StatePrecision}), through the fused
 * kernels' {@code grad_scale} argument on the fused path: the scaled step costs one pass over the gradients (the
 * finiteness check) more than a plain step. After {@link #step} the gradients' values are unspecified (scaled or
 * not); clear them before the next backward, as every training loop does.
 *
 * <p>The scale lives on the host (a float32 value, as torch keeps it): the check for infinities reads one flag per
 * device back from it, as torch's scaler does for an optimizer that is not fused. Unlike torch's, the scale never
 * falls to 0: a backoff stops at {@link #MIN_BACKOFF_SCALE}. Not thread-safe.
 */
public final class GradScaler {

    /** torch's default initial scale, 2^16. */
    public static final double DEFAULT_INIT_SCALE = 65536.0;
    /** torch's default growth factor. */
    public static final double DEFAULT_GROWTH_FACTOR = 2.0;
    /** torch's default backoff factor. */
    public static final double DEFAULT_BACKOFF_FACTOR = 0.5;
    /** torch's default growth interval, in steps. */
    public static final int DEFAULT_GROWTH_INTERVAL = 2000;
    /**
     * The smallest scale a backoff leads to: 2^-126, the smallest normal float32. torch's backoff has no bound, so
     * after enough skipped steps in a row (166 halvings from 2^16) its scale is 0, which its unscaling then divides
     * by; here a backoff stops at this scale, whose reciprocal is finite in float32, and never raises a smaller
     * scale given at construction.
     */
    public static final double MIN_BACKOFF_SCALE = Float.MIN_NORMAL;

    private final double growthFactor;
    private final double backoffFactor;
    private final int growthInterval;
    private double scale;
    private int growthTracker;
    /** Whether this iteration found a non-finite gradient; null before its first step or unscale. */
    private Boolean foundInf;
    /** Per optimizer this iteration: whether {@link #unscale} found a non-finite gradient in it. */
    private final Map<ListOptimizer, Boolean> unscaled = new IdentityHashMap<>();
    private final Set<ListOptimizer> stepped = Collections.newSetFromMap(new IdentityHashMap<>());

    /** A scaler with torch's defaults: initial scale 2^16, growth factor 2, backoff 0.5, growth interval 2000. */
    public GradScaler() {
        this(DEFAULT_INIT_SCALE, DEFAULT_GROWTH_FACTOR, DEFAULT_BACKOFF_FACTOR, DEFAULT_GROWTH_INTERVAL);
    }

    /**
     * A scaler with the given settings, as torch's {@code GradScaler(init_scale, growth_factor, backoff_factor,
     * growth_interval)}.
     *
     * @throws IllegalArgumentException if {@code initScale} is not positive and finite in float32 (e.g. 1e-50,
     *                                  which is 0 there), {@code growthFactor <= 1}, {@code backoffFactor} is not
     *                                  in (0, 1), or {@code growthInterval <= 0}
     */
    public GradScaler(double initScale, double growthFactor, double backoffFactor, int growthInterval) {
        State.check("initScale", initScale, growthFactor, backoffFactor, growthInterval, 0);
        this.scale = (float) initScale;
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
    }

    /**
     * {@code loss} multiplied by the current scale, a new tensor owned by the caller (attached to the caller's
     * innermost {@code PointerScope}, if any); call {@code backward()} on it. As torch's {@code scale}, it multiplies
     * by a 0-dim float32 tensor holding the scale, so the result has the dtype torch's type promotion gives: float32
     * for a 0-dim float16 or bfloat16 loss (the usual {@code mean()}), float64 for a float64 loss, and float16 for a
     * float16 loss with dimensions.
     *
     * @throws IllegalArgumentException if {@code loss} is null or undefined
     */
    public Tensor scale(Tensor loss) {
        if (loss == null || loss.isNull() || !loss.defined()) {
            throw new IllegalArgumentException("loss must be a defined tensor");
        }
        Tensor scaled;
        try (PointerScope scope = new PointerScope()) {
            Tensor factor = full(new long[0], new Scalar(scale),
                    new TensorOptions(ScalarType.Float).device(new DeviceOptional(loss.device())));
            scaled = loss.mul(factor);
            scaled.retainReference();
        }
        return NativeMemory.toCallerScope(scaled);
    }

    /**
     * Divides every gradient of {@code optimizer} by the scale now, in place, and records whether one is not
     * finite, for code that must see the true gradients before the step (gradient clipping); {@link #step} then
     * updates from them as they are, or skips. As torch's {@code unscale_}, it refuses float16 gradients, which
     * would lose the small values loss scaling exists for: clip the scaled gradients by a scaled threshold instead,
     * or keep float32 gradients. All or nothing: every gradient is checked before any is divided, so a refused call
     * leaves every gradient as it was and can be retried.
     *
     * @throws IllegalStateException    if called twice, or after {@code step}, since the last {@link #update}
     * @throws IllegalArgumentException if {@code optimizer} is null, or a gradient is float16, not floating point,
     *                                  not dense, or expanded or otherwise overlapping itself (which an in-place
     *                                  division would write twice), naming the parameter; nothing is changed then
     */
    public void unscale(ListOptimizer optimizer) {
        requireOptimizer(optimizer);
        if (unscaled.containsKey(optimizer)) {
            throw new IllegalStateException("unscale() has already been called on this optimizer since the last"
                    + " update()");
        }
        if (stepped.contains(optimizer)) {
            throw new IllegalStateException("unscale() is being called after step(); call update() first");
        }
        List<Tensor> grads = new ArrayList<>();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<ParamGroup> groups = optimizer.paramGroups();
            for (int g = 0; g < groups.size(); g++) {
                List<Tensor> params = groups.get(g).params();
                for (int i = 0; i < params.size(); i++) {
                    Tensor grad = params.get(i).grad();
                    if (!grad.defined()) {
                        continue;
                    }
                    requireDivisible(grad, "params[" + i + "] of group " + g);
                    grads.add(grad);
                }
            }
            NonFiniteCheck check = new NonFiniteCheck();
            try (Scalar divisor = new Scalar(scale)) {
                grads.forEach(grad -> grad.div_(divisor));
                boolean found = !check.allFinite(grads);
                unscaled.put(optimizer, found);
                record(found);
            } finally {
                check.release();
            }
        }
    }

    /**
     * Updates {@code optimizer} from the scaled gradients ({@link ListOptimizer#scaledStep}), or from the true ones
     * if {@link #unscale} divided them already (with {@code step()}), or skips the step, changing nothing in the
     * optimizer, when any gradient is not finite.
     *
     * @return whether the step ran
     * @throws IllegalStateException    if {@code step} was already called on it since the last {@link #update}
     * @throws IllegalArgumentException as the optimizer's {@code step()}; nothing is changed then
     */
    public boolean step(ListOptimizer optimizer) {
        requireOptimizer(optimizer);
        if (stepped.contains(optimizer)) {
            throw new IllegalStateException("step() has already been called since the last update()");
        }
        boolean ran;
        Boolean foundAtUnscale = unscaled.get(optimizer);
        if (foundAtUnscale == null) {
            ran = optimizer.scaledStep(scale);
            record(!ran);
        } else if (foundAtUnscale) {
            ran = false;
        } else {
            // unscale() checked and divided the gradients already: a plain step, as torch's scaler takes then.
            long before = optimizer.stepCount();
            optimizer.step();
            ran = optimizer.stepCount() > before;
        }
        stepped.add(optimizer);
        return ran;
    }

    /**
     * Adjusts the scale after this iteration's steps, as torch's {@code update()}: times {@code backoffFactor} if a
     * step found a non-finite gradient (and the count of good steps restarts), down to {@link #MIN_BACKOFF_SCALE}
     * at the least, else, after {@code growthInterval} good steps in a row, times {@code growthFactor} (kept only if
     * finite in float32).
     *
     * @throws IllegalStateException if no {@link #step} (or {@link #unscale}) ran since the last update
     */
    public void update() {
        if (foundInf == null) {
            throw new IllegalStateException("no inf checks were recorded prior to update(): call step() first");
        }
        if (foundInf) {
            scale = Math.max((float) (scale * backoffFactor), Math.min((float) scale, (float) MIN_BACKOFF_SCALE));
            growthTracker = 0;
        } else if (growthTracker + 1 == growthInterval) {
            float grown = (float) (scale * growthFactor);
            if (Float.isFinite(grown)) {
                scale = grown;
            }
            growthTracker = 0;
        } else {
            growthTracker++;
        }
        foundInf = null;
        unscaled.clear();
        stepped.clear();
    }

    /** The current scale. */
    public double getScale() {
        return scale;
    }

    /** The scaler's state, as torch's {@code scaler.state_dict()}, for checkpoints. */
    public State state() {
        return new State(scale, growthFactor, backoffFactor, growthInterval, growthTracker);
    }

    /**
     * Restores a state taken with {@link #state()} (after a resume); the settings must match this scaler's.
     *
     * @throws IllegalArgumentException if {@code state} is null or has other settings; nothing changes then
     * @throws IllegalStateException    in the middle of an iteration (after step or unscale, before update)
     */
    public void loadState(State state) {
        if (state == null) {
            throw new IllegalArgumentException("state must not be null");
        }
        if (state.growthFactor() != growthFactor || state.backoffFactor() != backoffFactor
                || state.growthInterval() != growthInterval) {
            throw new IllegalArgumentException("the state has settings " + state.settings() + ", this scaler "
                    + state().settings());
        }
        if (foundInf != null) {
            throw new IllegalStateException("cannot load a state between step() and update()");
        }
        this.scale = state.scale();
        this.growthTracker = state.growthTracker();
    }

    /**
     * Refuses, before any gradient is divided, one that {@code div_} would fail on part-way (a stride-0 or
     * overlapping gradient, an integer one), or that torch's {@code unscale_} refuses (float16).
     */
    private static void requireDivisible(Tensor grad, String where) {
        if (!TensorChecks.isStrided(grad) || grad.is_nested()) {
            throw new IllegalArgumentException(where + " has a " + (grad.is_nested() ? "nested" : "sparse")
                    + " gradient; unscale() divides dense gradients only, as the optimizer updates from them");
        }
        if (!grad.is_floating_point()) {
            throw new IllegalArgumentException(where + " has a gradient of dtype " + grad.scalar_type()
                    + "; unscale() divides floating-point gradients only");
        }
        if (grad.scalar_type().value == ScalarType.Half.value) {
            throw new IllegalArgumentException(where + " has a float16 gradient, which unscale() would round in"
                    + " float16 (torch refuses it too); step() divides it in float32 inside the update");
        }
        String overlap = TensorChecks.internalOverlap(grad);
        if (overlap != null) {
            throw new IllegalArgumentException(where + " has a gradient that " + overlap + "; dividing it in place"
                    + " would write those elements more than once: give it a gradient that owns its elements"
                    + " (e.g. .contiguous())");
        }
    }

    private void record(boolean found) {
        foundInf = (foundInf != null && foundInf) || found;
    }

    private static void requireOptimizer(ListOptimizer optimizer) {
        if (optimizer == null) {
            throw new IllegalArgumentException("optimizer must not be null");
        }
    }

    /**
     * The state of a {@link GradScaler}, as torch's {@code scaler.state_dict()}: the scale, its settings and the number
     * of good steps since the scale last changed. Save it beside the optimizer's checkpoint and give it back to
     * {@link GradScaler#loadState} on resume.
     *
     * @param scale          the current scale (positive and finite in float32)
     * @param growthFactor   the factor the scale grows by (greater than 1)
     * @param backoffFactor  the factor the scale shrinks by (in (0, 1))
     * @param growthInterval the number of good steps in a row after which the scale grows (positive)
     * @param growthTracker  the good steps in a row so far, in {@code [0, growthInterval)}
     */
    public record State(double scale, double growthFactor, double backoffFactor, int growthInterval,
                                  int growthTracker) {

        /**
         * Validates; see the parameters.
         *
         * @throws IllegalArgumentException if a value is out of its range, e.g. a scale that rounds to 0 or infinity
         *                                  in float32 ({@code 1e-46}, {@code 1e39}), naming it
         */
        public State {
            check("scale", scale, growthFactor, backoffFactor, growthInterval, growthTracker);
        }

        /** Refuses settings out of range, naming the scale {@code scaleName} (the caller's argument). */
        static void check(String scaleName, double scale, double growthFactor, double backoffFactor, int growthInterval,
                          int growthTracker) {
            // Judged in float32, the precision the scale is kept in: 1e-50 is positive as a double but 0 as a float.
            float rounded = (float) scale;
            if (!(rounded > 0) || !Float.isFinite(rounded)) {
                throw new IllegalArgumentException(scaleName + " must be positive and finite in float32, got " + scale
                        + (Double.isFinite(scale) && scale > 0 ? " (" + rounded + " in float32)" : ""));
            }
            if (!(growthFactor > 1) || !Double.isFinite(growthFactor)) {
                throw new IllegalArgumentException("the growth factor must be > 1.0, got " + growthFactor);
            }
            if (!(backoffFactor > 0 && backoffFactor < 1)) {
                throw new IllegalArgumentException("the backoff factor must be in (0, 1), got " + backoffFactor);
            }
            if (growthInterval <= 0) {
                throw new IllegalArgumentException("the growth interval must be positive, got " + growthInterval);
            }
            if (growthTracker < 0 || growthTracker >= growthInterval) {
                throw new IllegalArgumentException("the growth tracker must be in [0, " + growthInterval + "), got "
                        + growthTracker);
            }
        }

        /** The settings, for messages. */
        String settings() {
            return "growthFactor " + growthFactor + ", backoffFactor " + backoffFactor + ", growthInterval "
                    + growthInterval;
        }
    }
}
