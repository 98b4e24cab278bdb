package io.github.optlist.search;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.util.function.Consumer;

/** A cheap trial for tests: fits a vector to a target with the trial's optimizer. */
public final class QuadraticTrial {

    /** The objective of a trial that never moves the vector: the target's squared norm. */
    public static final double UNMOVED = 1 + 4 + 9 + 0.25;

    private QuadraticTrial() {
    }

    /**
     * Fits {@code (0, 0, 0, 0)} to {@code (1, -2, 3, 0.5)} for the trial's length, reporting every loss; the
     * objective is the final squared distance. {@code onStart} sees each context first, e.g. to record what ran.
     */
    public static Trial of(Consumer<TrialContext> onStart) {
        return context -> {
            onStart.accept(context);
            Tensor target = Tensor.create(new float[]{1, -2, 3, 0.5f}, 4);
            Tensor p = Tensor.create(new float[]{0, 0, 0, 0}, 4).set_requires_grad(true);
            try (var opt = context.optimizer(new TensorVector(p))) {
                for (long step = 0; step < context.trainingSteps(); step++) {
                    try (PointerScope scope = new PointerScope()) {
                        opt.zeroGrad();
                        Tensor loss = p.sub(target).pow(new Scalar(2.0)).sum();
                        loss.backward();
                        opt.step();
                        context.reportLoss(step, loss.item_double());
                    }
                }
            }
            return p.detach().sub(target).pow(new Scalar(2.0)).sum().item_double();
        };
    }
}
