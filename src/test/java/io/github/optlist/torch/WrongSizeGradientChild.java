package io.github.optlist.torch;

import io.github.optlist.OptList;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import static org.bytedeco.pytorch.global.torch.randn;

/**
 * Run in a child JVM by {@link GradientCheckTest}: steps the fused path with a gradient of 10 elements for a
 * parameter of 1000. Prints {@code refused: <message>} and exits 0 when the step is refused, exits 2 when it is
 * taken; a crash of the JVM gives another exit code.
 */
public final class WrongSizeGradientChild {

    private WrongSizeGradientChild() {
    }

    public static void main(String[] args) {
        Tensor p = randn(1000).detach().set_requires_grad(true);
        try (var opt = TestTensors.optimizer(new TensorVector(p), OptList.config(0), 100, UpdatePath.FUSED)) {
            for (int step = 0; step < 20; step++) {
                p.mutable_grad().put(randn(10));
                opt.step();
            }
            System.out.println("accepted");
            System.exit(2);
        } catch (IllegalArgumentException refused) {
            System.out.println("refused: " + refused.getMessage());
            System.exit(0);
        }
    }
}
