package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.List;
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
    static NAdamWCosineDecay optimizer(TensorVector params, NAdamWConfig config, long trainingSteps, UpdatePath path) {
        return optimizer(List.of(ParamGroup.of(params, config)), trainingSteps, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS.withUpdatePath(path));
    }

    /** An optimizer over one group of {@code params} with {@code config}, TASKSET's warm-up and default options. */
    static NAdamWCosineDecay optimizer(TensorVector params, NAdamWConfig config, long trainingSteps) {
        return optimizer(params, config, trainingSteps, ListVariant.TASKSET);
    }

    /** An optimizer over one group of {@code params} with {@code config}, {@code variant}'s warm-up,
            default options. */
    static NAdamWCosineDecay optimizer(TensorVector params, NAdamWConfig config, long trainingSteps,
                                       ListVariant variant) {
        return optimizer(List.of(ParamGroup.of(params, config)), trainingSteps, variant);
    }

    /** An optimizer over {@code groups} with the default options. */
    static NAdamWCosineDecay optimizer(List<ParamGroup> groups, long trainingSteps, ListVariant variant) {
        return optimizer(groups, trainingSteps, variant, OptimizerOptions.DEFAULTS);
    }

    /** {@code NAdamWCosineDecay.of(new OptimizerSpec(groups, trainingSteps, variant, options))}. */
    static NAdamWCosineDecay optimizer(List<ParamGroup> groups, long trainingSteps, ListVariant variant,
                                       OptimizerOptions options) {
        return NAdamWCosineDecay.of(new OptimizerSpec(groups, trainingSteps, variant, options));
    }

    /** The optimizer of list entry {@code idx} over {@code params} under {@code variant}, default options. */
    static NAdamWCosineDecay forIdx(TensorVector params, int idx, long trainingSteps, ListVariant variant) {
        return forIdx(params, idx, trainingSteps, variant, OptimizerOptions.DEFAULTS);
    }

    /** {@code NAdamWCosineDecay.of(OptimizerSpec.forIdx(params, idx, trainingSteps, variant, options))}. */
    static NAdamWCosineDecay forIdx(TensorVector params, int idx, long trainingSteps, ListVariant variant,
                                    OptimizerOptions options) {
        return NAdamWCosineDecay.of(OptimizerSpec.forIdx(params, idx, trainingSteps, variant, options));
    }

    /** The optimizer of list entry {@code idx} over a TorchScript model's named parameters, default options. */
    static NAdamWCosineDecay forIdx(org.bytedeco.pytorch.JitModule model, int idx, long trainingSteps,
                                    ListVariant variant) {
        return NAdamWCosineDecay.of(OptimizerSpec.forIdx(NamedParameters.of(model), idx, trainingSteps, variant,
                OptimizerOptions.DEFAULTS));
    }

    /** The optimizer of list entry {@code idx} over a C++ module's named parameters, default options. */
    static NAdamWCosineDecay forIdx(org.bytedeco.pytorch.Module model, int idx, long trainingSteps,
                                    ListVariant variant) {
        return NAdamWCosineDecay.of(OptimizerSpec.forIdx(NamedParameters.of(model), idx, trainingSteps, variant,
                OptimizerOptions.DEFAULTS));
    }

    /** {@code config} without weight decay of either kind, e.g. for biases and norms. */
    static NAdamWConfig withoutDecay(NAdamWConfig config) {
        return config.toBuilder().adamwWeightDecay(0).l2WeightDecay(0).build();
    }
}
