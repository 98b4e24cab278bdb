package io.github.optlist.bench.jmh;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.randn;

/**
 * A model's initial parameters and their float32 gradients, drawn from a fixed seed: every contestant steps from the
 * same values with the same gradients.
 */
record ModelTensors(List<Tensor> initialParams, List<Tensor> grads) {

    /** Draws the parameters (times 0.05) and gradients (times 0.01) of {@code shape} from seed 42. */
    static ModelTensors of(Shape shape) {
        manual_seed(42);
        List<Tensor> params = new ArrayList<>();
        List<Tensor> grads = new ArrayList<>();
        for (long[] size : shape.shapes()) {
            params.add(randn(size).mul_(new Scalar(0.05)));
            grads.add(randn(size).mul_(new Scalar(0.01)));
        }
        return new ModelTensors(List.copyOf(params), List.copyOf(grads));
    }

    /** Fresh copies of the parameters, each with its gradient set (shared, not copied). */
    List<Tensor> paramsWithGradients() {
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; i < initialParams.size(); i++) {
            Tensor param = initialParams.get(i).clone().set_requires_grad(true);
            param.mutable_grad().put(grads.get(i));
            params.add(param);
        }
        return params;
    }
}
