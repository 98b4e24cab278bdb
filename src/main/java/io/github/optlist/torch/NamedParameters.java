package io.github.optlist.torch;

import io.github.optlist.internal.NativeMemory;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.NamedTensor;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.StringTensorDictItem;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.named_parameter_iterator;
import org.bytedeco.pytorch.named_parameter_list;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A model's trainable parameters with their names, as torch's {@code model.named_parameters()} filtered on
 * {@code requires_grad}: the input to name-based {@linkplain #groupBy parameter groups} and to checkpoints that
 * match parameters by name.
 *
 * <pre>{@code
 * NAdamWConfig entry = OptList.config(0, ListVariant.TORCH_PORT);
 * List<ParamGroup> groups = NamedParameters.of(jitModule)
 *         .groupBy(NamedParameters.withoutDecayOnBiasesAndNorms(entry));
 * var opt = NAdamWCosineDecay.of(new OptimizerSpec(groups, trainingSteps, ListVariant.TORCH_PORT,
 *         OptimizerOptions.DEFAULTS));
 * }</pre>
 *
 * <p>The parameters are taken in {@code named_parameters} order (a TorchScript module's recursive order, a
 * C++ module's registration order); those with {@code requires_grad} false (frozen) are left out. A tensor the
 * module holds under several names (tied weights: {@code dec.weight = enc.weight}) is taken once, under its first
 * name, as Python's {@code named_parameters()} gives it ({@code remove_duplicate=True}); LibTorch lists it under
 * every name. Distinct tensors that share memory are not merged: the optimizer refuses them. The object holds its
 * own references to the tensors.
 */
public final class NamedParameters {

    /**
     * One named parameter.
     *
     * @param name   its dotted name, as {@code named_parameters} gives it ({@code "conv1.weight"})
     * @param tensor the parameter
     */
    public record Entry(String name, Tensor tensor) {

        /** Validates: a non-empty name and a non-null tensor. */
        public Entry {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("a parameter name must not be null or empty");
            }
            if (tensor == null || tensor.isNull()) {
                throw new IllegalArgumentException("parameter '" + name + "' is null");
            }
        }
    }

    private final List<Entry> entries;

    private NamedParameters(List<Entry> entries) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("the model has no trainable parameter (none requires grad)");
        }
        Set<String> seen = new HashSet<>();
        for (Entry entry : entries) {
            if (!seen.add(entry.name())) {
                throw new IllegalArgumentException("the parameter name '" + entry.name() + "' occurs twice");
            }
        }
        this.entries = List.copyOf(entries);
    }

    /**
     * The trainable parameters of a TorchScript module (for example one loaded with {@code torch.load(path)} from a
     * file that Python's {@code torch.jit.save} wrote), recursively, in {@code named_parameters} order, each tensor
     * once under its first name.
     *
     * @throws IllegalArgumentException if {@code module} is null or has no parameter that requires grad
     */
    public static NamedParameters of(JitModule module) {
        if (module == null || module.isNull()) {
            throw new IllegalArgumentException("module must not be null");
        }
        List<Entry> entries = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        try (PointerScope scope = new PointerScope()) {
            named_parameter_list list = module.named_parameters(true);
            named_parameter_iterator end = list.end();
            for (named_parameter_iterator it = list.begin(); it.notEquals(end); it.increment()) {
                NamedTensor named = it.access();
                addIfTrainable(entries, seen, named.name().getString(), named.value());
            }
        }
        return new NamedParameters(entries);
    }

    /**
     * The trainable parameters of a LibTorch C++ module built from Java, recursively, in registration order, each
     * tensor once under its first name.
     *
     * @throws IllegalArgumentException if {@code module} is null or has no parameter that requires grad
     */
    public static NamedParameters of(org.bytedeco.pytorch.Module module) {
        if (module == null || module.isNull()) {
            throw new IllegalArgumentException("module must not be null");
        }
        List<Entry> entries = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        try (PointerScope scope = new PointerScope()) {
            StringTensorDict dict = module.named_parameters(true);
            for (long i = 0; i < dict.size(); i++) {
                StringTensorDictItem item = dict.get(i);
                addIfTrainable(entries, seen, item.key().getString(), item.value());
            }
        }
        return new NamedParameters(entries);
    }

    /**
     * Named tensors given by hand, in the map's iteration order (use a {@link LinkedHashMap}); those with
     * {@code requires_grad} false are left out, as from a module. A tensor given under two names is kept under both,
     * and the optimizer refuses it, as any list given by hand that names a tensor twice (see {@link ParamGroup}).
     *
     * @throws IllegalArgumentException if the map is null or empty, or holds a null or empty name or a null tensor
     */
    public static NamedParameters of(Map<String, Tensor> named) {
        if (named == null) {
            throw new IllegalArgumentException("named must not be null");
        }
        List<Entry> entries = new ArrayList<>();
        named.forEach((name, tensor) -> {
            Entry entry = new Entry(name, tensor);
            if (!entry.tensor().requires_grad()) {
                return;
            }
            entries.add(new Entry(name, NativeMemory.outliveScope(new Tensor(tensor))));
        });
        return new NamedParameters(entries);
    }

    /** Adds a trainable tensor not {@code seen} before (a tied weight's later names are dropped). */
    private static void addIfTrainable(List<Entry> entries, Set<Long> seen, String name, Tensor tensor) {
        if (tensor.defined() && tensor.requires_grad() && seen.add(TensorChecks.identity(tensor))) {
            entries.add(new Entry(name, NativeMemory.outliveScope(new Tensor(tensor))));
        }
    }

    /** The parameters with their names, in order. */
    public List<Entry> entries() {
        return entries;
    }

    /** The names, in order. */
    public List<String> names() {
        return entries.stream().map(Entry::name).toList();
    }

    /** The number of trainable parameters. */
    public int size() {
        return entries.size();
    }

    /**
     * All parameters in one named group with {@code config}.
     *
     * @throws IllegalArgumentException as {@link ParamGroup}'s constructor
     */
    public ParamGroup group(NAdamWConfig config) {
        return ParamGroup.named(names(), entries.stream().map(Entry::tensor).toList(), config);
    }

    /**
     * Parameter groups by name: {@code rule} gives each parameter its configuration, and the parameters that get
     * equal configurations form one group, the groups ordered by their first parameter and each keeping the model's
     * order. This is how "these names get this configuration" is said; see
     * {@link #withoutDecayOnBiasesAndNorms(NAdamWConfig)} for the common rule.
     *
     * @throws IllegalArgumentException if {@code rule} is null or returns null for a parameter (naming it)
     */
    public List<ParamGroup> groupBy(Function<Entry, NAdamWConfig> rule) {
        if (rule == null) {
            throw new IllegalArgumentException("rule must not be null");
        }
        Map<NAdamWConfig, List<Entry>> byConfig = new LinkedHashMap<>();
        for (Entry entry : entries) {
            NAdamWConfig config = rule.apply(entry);
            if (config == null) {
                throw new IllegalArgumentException("the rule gave no configuration for '" + entry.name() + "'");
            }
            byConfig.computeIfAbsent(config, c -> new ArrayList<>()).add(entry);
        }
        List<ParamGroup> groups = new ArrayList<>(byConfig.size());
        byConfig.forEach((config, members) -> groups.add(ParamGroup.named(members.stream().map(Entry::name).toList(),
                members.stream().map(Entry::tensor).toList(), config)));
        return groups;
    }

    /**
     * The usual rule: biases and normalization parameters get {@code config} without weight decay (AdamW and L2
     * both 0, through {@link NAdamWConfig#toBuilder()}), every other parameter {@code config} itself. A
     * parameter counts as a bias or a normalization parameter when {@link #isBiasOrNorm} says so.
     *
     * @throws IllegalArgumentException if {@code config} is null
     */
    public static Function<Entry, NAdamWConfig> withoutDecayOnBiasesAndNorms(NAdamWConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        NAdamWConfig noDecay = config.toBuilder().adamwWeightDecay(0).l2WeightDecay(0).build();
        return entry -> isBiasOrNorm(entry) ? noDecay : config;
    }

    /**
     * Whether a parameter is a bias or belongs to a normalization layer, as the common "no weight decay" rule of
     * torch training scripts decides it: its name's last part is {@code bias}, or the tensor has at most one
     * dimension (the weights and biases of {@code BatchNorm}, {@code LayerNorm} and {@code GroupNorm}, and any
     * other 1-D or scalar parameter). Convolution and linear weights (two or more dimensions) are not.
     */
    public static boolean isBiasOrNorm(Entry entry) {
        String name = entry.name();
        String last = name.substring(name.lastIndexOf('.') + 1);
        return last.equals("bias") || entry.tensor().dim() <= 1;
    }
}
