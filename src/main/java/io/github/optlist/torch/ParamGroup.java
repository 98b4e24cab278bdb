package io.github.optlist.torch;

import io.github.optlist.internal.NativeMemory;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of parameters optimized with one configuration, as a torch.optim parameter group: for example the
 * weights with a list entry, and the biases and norms with the same entry without weight decay
 * ({@code entry.toBuilder().adamwWeightDecay(0).l2WeightDecay(0).build()}).
 *
 * <p>The group holds its own references to the tensors; the vector or list it was built from may be freed.
 * Construction refuses, with an {@link IllegalArgumentException} naming the position, a null or empty list,
 * a null or undefined tensor, a tensor that is not floating point, a non-leaf tensor ("can't optimize a non-leaf
 * Tensor", as torch.optim says), a tensor that is not dense (sparse, mkldnn, nested), one whose elements may share
 * memory (an expanded tensor, stride 0), the same tensor twice, and two tensors that share memory ({@code p} and
 * {@code p.detach()}, overlapping views of one buffer), which the optimizer would update twice;
 * and names that are not one non-empty, distinct name per parameter.
 *
 * <p>The same tensor twice: a model that holds one tensor under two names (tied weights, {@code dec.weight =
 * enc.weight}) lists it twice in LibTorch's {@code parameters()}, where Python's lists it once. The model-facing
 * entries, {@link #of(TensorVector, NAdamWConfig)} (and the factories taking a {@code TensorVector}:
 * {@link OptimizerSpec#forIdx}, {@link TorchOptList#optimizerForIdx}) and {@link NamedParameters} of a module, keep
 * its first place and drop the others, as Python does. A list given by hand (this constructor,
 * {@link #of(List, NAdamWConfig)}, {@link #named}) that names a tensor twice is refused instead: torch.optim only
 * warns there and then updates that tensor twice per step, each time advancing its moments and step count, which is
 * never what was meant. A tensor in two groups is refused, as torch.optim raises
 * {@code ValueError} for it.
 *
 * <p>Names are optional: a group built from tensors alone has none; one built by {@link NamedParameters} or
 * {@link #named} has one per parameter, and its checkpoints match parameters by name.
 *
 * @param params the tensors, updated in place by the optimizer
 * @param config the configuration they are optimized with
 * @param names  the parameters' names, one per tensor in order ({@code "conv1.weight"}), or empty for none
 */
public record ParamGroup(List<Tensor> params, NAdamWConfig config, List<String> names) {

    /** An unnamed group; see the class description for what is refused. */
    public ParamGroup(List<Tensor> params, NAdamWConfig config) {
        this(params, config, List.of());
    }

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
        names = checkedNames(names, params.size());
    }

    private static List<String> checkedNames(List<String> names, int count) {
        if (names == null || names.isEmpty()) {
            return List.of();
        }
        if (names.size() != count) {
            throw new IllegalArgumentException("a group of " + count + " parameters needs " + count + " names, got "
                    + names.size());
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("the name of params[" + i + "] is null or empty");
            }
            if (!seen.add(name)) {
                throw new IllegalArgumentException("the name '" + name + "' is given to two parameters");
            }
        }
        return List.copyOf(names);
    }

    /**
     * A group whose parameters have names, one per tensor in order.
     *
     * @throws IllegalArgumentException as the constructor
     */
    public static ParamGroup named(List<String> names, List<Tensor> params, NAdamWConfig config) {
        if (names == null || names.isEmpty()) {
            throw new IllegalArgumentException("names must not be null or empty; use of(params, config) for none");
        }
        return new ParamGroup(params, config, names);
    }

    /** Whether the parameters have names. */
    public boolean isNamed() {
        return !names.isEmpty();
    }

    /**
     * A group of the tensors of a model's parameter list, {@code module.parameters()}, each tensor once: a tensor
     * the list holds again (tied weights, e.g. a decoder's weight that is the encoder's) is taken at its first place
     * only, as Python's {@code model.parameters()} lists it, so it is updated once per step with the gradient
     * autograd accumulated from all its uses. Distinct tensors that share memory (a view, a {@code detach()}) are
     * still refused. Positions in messages are those of {@code params}.
     *
     * @throws IllegalArgumentException as the constructor (but for the repeats), or if {@code params} is null
     */
    public static ParamGroup of(TensorVector params, NAdamWConfig config) {
        if (params == null || params.isNull()) {
            throw new IllegalArgumentException("params must not be null");
        }
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        List<Tensor> tensors = new ArrayList<>((int) params.size());
        for (long i = 0; i < params.size(); i++) {
            Tensor tensor = params.get(i);
            TensorChecks.requireOptimizable(tensor, "params[" + i + "]");
            tensors.add(tensor);
        }
        List<Integer> first = TensorChecks.firstOccurrences(tensors);
        List<Tensor> once = first.stream().map(tensors::get).toList();
        try (PointerScope scope = new PointerScope()) {
            TensorChecks.requireNoSharedMemory(once, k -> "params[" + first.get(k) + "]");
        }
        return new ParamGroup(once, config);
    }

    /** A group of the given tensors. */
    public static ParamGroup of(List<Tensor> params, NAdamWConfig config) {
        return new ParamGroup(params, config);
    }

    /**
     * Refuses what no optimizer can be built over, as every optimizer of this library checks at construction: a null
     * or empty list, a null group, a tensor in two groups, two tensors sharing memory (e.g. one a view or
     * {@code detach()} of the other), which would be updated twice, and a name given to parameters of two groups
     * (checkpoints match parameters by name). Changes nothing.
     *
     * @throws IllegalArgumentException naming the first problem, e.g. {@code params[0] of group 1 is the same tensor
     *                                  as params[2] of group 0}
     */
    static void requireDisjoint(List<ParamGroup> groups) {
        if (groups == null || groups.isEmpty()) {
            throw new IllegalArgumentException("the optimizer needs at least one parameter group, got "
                    + (groups == null ? "null" : "none"));
        }
        Map<Long, String> seen = new HashMap<>();
        Map<String, String> names = new HashMap<>();
        List<Tensor> all = new ArrayList<>();
        List<String> positions = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            ParamGroup group = groups.get(g);
            if (group == null) {
                throw new IllegalArgumentException("group " + g + " is null");
            }
            for (int i = 0; i < group.params().size(); i++) {
                String where = "params[" + i + "] of group " + g;
                String first = seen.putIfAbsent(TensorChecks.identity(group.params().get(i)), where);
                if (first != null) {
                    throw new IllegalArgumentException(where + " is the same tensor as " + first
                            + "; a tensor can be in only one group");
                }
                all.add(group.params().get(i));
                positions.add(where);
                String named = group.isNamed() ? names.putIfAbsent(group.names().get(i), where) : null;
                if (named != null) {
                    throw new IllegalArgumentException("the name '" + group.names().get(i) + "' is given to " + named
                            + " and to " + where + "; parameters are matched by name");
                }
            }
        }
        try (PointerScope scope = new PointerScope()) {
            TensorChecks.requireNoSharedMemory(all, positions::get);
        }
    }

    /** This group's parameters with another configuration. */
    public ParamGroup withConfig(NAdamWConfig newConfig) {
        return new ParamGroup(params, newConfig, names);
    }
}
