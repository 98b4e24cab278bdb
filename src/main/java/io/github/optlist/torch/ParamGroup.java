package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.List;

/**
 * A set of parameters optimized with one configuration, as a torch.optim parameter group: for example the
 * weights with a list entry, and the biases and norms with the same entry {@linkplain NAdamWConfig#withoutWeightDecay()
 * without weight decay}.
 *
 * <p>The group holds its own references to the tensors; the vector or list it was built from may be freed.
 * Construction refuses, with an {@link IllegalArgumentException} naming the position, a null or empty list,
 * a null or undefined tensor, a tensor that is not floating point, a non-leaf tensor ("can't optimize a non-leaf
 * Tensor", as torch.optim says), a tensor that is not dense (sparse, mkldnn, nested), one whose elements may share
 * memory (an expanded tensor, stride 0), the same tensor twice, and two tensors that share memory ({@code p} and
 * {@code p.detach()}, overlapping views of one buffer), which the optimizer would update twice.
 *
 * @param params the tensors, updated in place by the optimizer
 * @param config the configuration they are optimized with
 */
public record ParamGroup(List<Tensor> params, NAdamWConfig config) {

    /** Validates and takes references to the tensors; see the class description for what is refused. */
    public ParamGroup {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        if (params == null || params.isEmpty()) {
            throw new IllegalArgumentException("a parameter group needs at least one parameter, got "
                    + (params == null ? "null" : "none"));
        }
        List<Tensor> held = new ArrayList<>(params.size());
        for (int i = 0; i < params.size(); i++) {
            Tensor tensor = params.get(i);
            TensorChecks.requireOptimizable(tensor, "params[" + i + "]");
            held.add(NativeMemory.outliveScope(new Tensor(tensor)));
        }
        TensorChecks.requireDistinct(held);
        TensorChecks.requireNoSharedMemory(held, i -> "params[" + i + "]");
        params = List.copyOf(held);
    }

    /**
     * A group of every tensor in {@code params}, e.g. {@code module.parameters()}.
     *
     * @throws IllegalArgumentException as the constructor, or if {@code params} is null
     */
    public static ParamGroup of(TensorVector params, NAdamWConfig config) {
        if (params == null || params.isNull()) {
            throw new IllegalArgumentException("params must not be null");
        }
        List<Tensor> tensors = new ArrayList<>((int) params.size());
        for (long i = 0; i < params.size(); i++) {
            tensors.add(params.get(i));
        }
        return new ParamGroup(tensors, config);
    }

    /** A group of the given tensors. */
    public static ParamGroup of(List<Tensor> params, NAdamWConfig config) {
        return new ParamGroup(params, config);
    }

    /** This group's parameters with another configuration. */
    public ParamGroup withConfig(NAdamWConfig newConfig) {
        return new ParamGroup(params, newConfig);
    }
}
