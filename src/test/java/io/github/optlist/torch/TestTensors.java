package io.github.optlist.torch;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Random;

/** Tensors from and to Java arrays, for the tests. */
final class TestTensors {

    private TestTensors() {
    }

    /** A float64 leaf tensor that requires grad. */
    static Tensor param(double[] values, long... shape) {
        return Tensor.create(values, shape).set_requires_grad(true);
    }

    /** The values of a floating-point tensor (float16 and bfloat16 exactly), on any device, as doubles. */
    static double[] values(Tensor tensor) {
        Tensor host = tensor.detach().cpu().contiguous();
        if (host.scalar_type().value == ScalarType.Half.value
                || host.scalar_type().value == ScalarType.BFloat16.value) {
            host = host.to(ScalarType.Double);
        }
        int n = (int) host.numel();
        double[] out = new double[n];
        if (host.scalar_type().value == ScalarType.Double.value) {
            new DoublePointer(host.data_ptr()).capacity(n).get(out);
        } else if (host.scalar_type().value == ScalarType.Float.value) {
            float[] f = new float[n];
            new FloatPointer(host.data_ptr()).capacity(n).get(f);
            for (int i = 0; i < n; i++) {
                out[i] = f[i];
            }
        } else {
            throw new IllegalArgumentException("unsupported dtype " + host.scalar_type());
        }
        return out;
    }

    /** Sets the gradient of {@code param} to {@code grad} (same shape and dtype). */
    static void setGrad(Tensor param, double[] grad) {
        param.mutable_grad().put(Tensor.create(grad, param.shape()).to(param.device(), param.scalar_type()));
    }

    static double[] gaussian(Random random, int n, double scale) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextGaussian() * scale;
        }
        return out;
    }

    /** An optimizer over one group of {@code params} that may use {@code path} at most (TASKSET warm-up). */
    static NAdamWCosineDecay optimizer(org.bytedeco.pytorch.TensorVector params, io.github.optlist.NAdamWConfig config,
                                       long trainingSteps, UpdatePath path) {
        return new NAdamWCosineDecay(java.util.List.of(ParamGroup.of(params, config)), trainingSteps,
                io.github.optlist.ListVariant.TASKSET, OptimizerOptions.DEFAULTS.withUpdatePath(path));
    }
}
