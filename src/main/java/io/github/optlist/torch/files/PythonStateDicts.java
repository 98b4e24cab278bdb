package io.github.optlist.torch.files;

import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.internal.AtomicFile;
import io.github.optlist.internal.ScalarTypes;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * The file Python's {@code torch.save(opt.state_dict())} writes for the published binding's
 * {@code torch_opt_list.NadamWCosineDecay}, converted from and to an optimizer's state ({@link FileState}):
 * <pre>
 * {'state': {index: {'step': int, 'exp_avg': Tensor, 'exp_avg_sq': Tensor}, ...},   # parameters with state only
 *  'param_groups': [{'lr': float, 'beta1': float, 'beta2': float, 'epsilon': float, 'adamw_weight_decay': float,
 *                    'l2_weight_decay': float, 'use_nesterov': bool, 'constant_fraction': float,
 *                    'warmup_fraction': float, 'min_learning_rate_mult': float, 'training_steps': int,
 *                    'use_bias_correction': bool, ['opt_list_variant': 'TASKSET',] 'params': [index, ...]}, ...]}
 * </pre>
 * The indices number the parameters as torch does, consecutively across groups. {@code lr} is the peak learning
 * rate ({@link NAdamWConfig#learningRate()}); the configuration's name is not part of the file.
 *
 * <p>The binding runs as {@link ListVariant#TORCH_PORT}. The state of a {@link ListVariant#TASKSET} optimizer
 * carries {@code 'opt_list_variant': 'TASKSET'} in each group, which Python's {@code load_state_dict} keeps and
 * ignores; it is written only when Python would update it the same way, i.e. when every group's warm-up is as long
 * under both variants (no warm-up, or {@code warmupFraction == constantFraction}). Nesterov is written as the
 * configuration says, which is how both variants run a configuration.
 *
 * <p>State precision: moments are written in the dtype the state holds them in (float32 for half-precision
 * parameters under {@code StatePrecision.FLOAT32}); Python's {@code load_state_dict} casts them to the parameter's
 * dtype, as it does any state. A float32 master copy has no place in the binding's state and is refused. On
 * reading, moments in the parameter's dtype, or in float32 for a half-precision parameter, are converted to the
 * dtype the reading optimizer keeps ({@link Precision#stateDtype}); where the reading optimizer keeps a master copy
 * ({@link Precision#keepsMaster}: a half-precision parameter under master weights), it is taken from the parameter,
 * as at its first update.
 *
 * <p>Python's state_dict has no optimizer-wide step count: the count read back is the highest parameter step.
 */
public final class PythonStateDicts {

    public static final String VARIANT_KEY = "opt_list_variant";
    /** How a file that is no state_dict is described. */
    private static final String UNREADABLE = "is not a file torch.save writes";

    private static final String STEP = "step";
    private static final String EXP_AVG = "exp_avg";
    private static final String EXP_AVG_SQ = "exp_avg_sq";
    private static final String TRAINING_STEPS = "training_steps";
    private static final String PARAMS = "params";
    private static final Set<String> PARAM_KEYS = Set.of(STEP, EXP_AVG, EXP_AVG_SQ);

    /** The binding's hyperparameter names and the configuration values they hold, in the binding's order. */
    private static final Map<String, Function<NAdamWConfig, Object>> HYPERPARAMETERS = hyperparameters();

    private PythonStateDicts() {
    }

    private static Map<String, Function<NAdamWConfig, Object>> hyperparameters() {
        Map<String, Function<NAdamWConfig, Object>> names = new LinkedHashMap<>();
        names.put("lr", NAdamWConfig::learningRate);
        names.put("beta1", NAdamWConfig::beta1);
        names.put("beta2", NAdamWConfig::beta2);
        names.put("epsilon", NAdamWConfig::epsilon);
        names.put("adamw_weight_decay", NAdamWConfig::adamwWeightDecay);
        names.put("l2_weight_decay", NAdamWConfig::l2WeightDecay);
        names.put("use_nesterov", NAdamWConfig::useNesterov);
        names.put("constant_fraction", NAdamWConfig::constantFraction);
        names.put("warmup_fraction", NAdamWConfig::warmupFraction);
        names.put("min_learning_rate_mult", NAdamWConfig::minLearningRateMult);
        names.put("use_bias_correction", NAdamWConfig::useBiasCorrection);
        return names;
    }

    /**
     * Writes {@code state} to {@code path} as the binding's {@code torch.save(opt.state_dict())} would, replacing
     * the file at once with {@link AtomicFile}: a failed write leaves {@code path} as it was.
     *
     * @throws IllegalArgumentException if the state cannot continue the same way in Python: a
     *                                  {@link ListVariant#TASKSET} group whose warm-up the binding would run over
     *                                  another length, or a parameter with a float32 master copy; nothing is
     *                                  written then
     * @throws IOException              if the file cannot be written
     */
    public static void write(FileState state, Path path) throws IOException {
        if (state == null || path == null) {
            throw new IllegalArgumentException("state and path must not be null");
        }
        Map<String, Object> tree = tree(state);
        AtomicFile.write(path, "the state_dict",
                channel -> TorchSaveWriter.write(tree, Channels.newOutputStream(channel)));
    }

    private static Map<String, Object> tree(FileState state) {
        Map<Long, Object> params = new LinkedHashMap<>();
        List<Object> groups = new ArrayList<>();
        long index = 0;
        for (int g = 0; g < state.groups().size(); g++) {
            FileState.Group group = state.groups().get(g);
            NAdamWConfig config = group.config();
            requireSameUpdateInPython(state, g, config);
            List<Object> indices = new ArrayList<>();
            for (int i = 0; i < group.params().size(); i++, index++) {
                FileState.Param param = group.params().get(i);
                if (param.master() != null) {
                    throw new IllegalArgumentException("group " + g + " parameter " + i + " has a float32 master"
                            + " copy (StatePrecision.FLOAT32_MASTER_WEIGHTS), which the published binding does not"
                            + " keep: Python would continue from the rounded parameter; use save(Path) to keep it");
                }
                if (param.hasMoments()) {
                    Map<String, Object> entry = new LinkedHashMap<>();
                    entry.put(STEP, param.step());
                    entry.put(EXP_AVG, param.expAvg());
                    entry.put(EXP_AVG_SQ, param.expAvgSq());
                    params.put(index, entry);
                }
                indices.add(index);
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            HYPERPARAMETERS.forEach((name, value) -> {
                if (name.equals("use_bias_correction")) {
                    entry.put(TRAINING_STEPS, state.trainingSteps()); // the binding's key order
                }
                entry.put(name, value.apply(config));
            });
            if (state.variant() != ListVariant.TORCH_PORT) {
                entry.put(VARIANT_KEY, state.variant().name());
            }
            entry.put(PARAMS, indices);
            groups.add(entry);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("state", params);
        root.put("param_groups", groups);
        return root;
    }

    private static void requireSameUpdateInPython(FileState state, int g, NAdamWConfig config) {
        double own = state.variant().warmupFraction(config);
        double binding = ListVariant.TORCH_PORT.warmupFraction(config);
        if (own != binding) {
            throw new IllegalArgumentException("group " + g + " (" + config.name() + ") warms up over "
                    + own * state.trainingSteps() + " steps under " + state.variant() + ", the published binding"
                    + " over " + binding * state.trainingSteps() + " (warmupFraction " + config.warmupFraction()
                    + ", constantFraction " + config.constantFraction() + "): Python would continue on another"
                    + " schedule; use save(Path) for Java, or train with ListVariant.TORCH_PORT");
        }
    }

    /**
     * Reads a state_dict file written by the binding (or by {@link #write}) as the state of an optimizer holding
     * {@code groups} over {@code trainingSteps} steps, under {@code variant} and {@code precision}. The file is read
     * by {@link TorchFile}, which runs nothing from it; everything is checked before a tensor's bytes are read, and
     * moments saved from any device (CUDA included) are read onto the CPU, to be moved to the parameters' own
     * device by {@code loadState}. The tensors returned are new, owned by the caller (attached to its innermost
     * {@link PointerScope}, if any).
     *
     * @throws NoSuchFileException  if there is no file at {@code path}
     * @throws RefusedFileException if the file is not a torch.save file holding the binding's state_dict (foreign,
     *                             corrupt, an opt-list checkpoint, another optimizer's), or if it does not fit:
     *                             another number of groups or parameters, a parameter numbering other than torch's,
     *                             a shape or dtype, a hyperparameter, the training length or the variant differ; the
     *                             message names the file and the difference
     * @throws IOException         if the file cannot be read
     */
    public static FileState read(Path path, List<Target> groups, long trainingSteps, ListVariant variant,
                                 Precision precision) throws IOException {
        if (path == null || groups == null || groups.isEmpty() || groups.stream().anyMatch(Objects::isNull)
                || variant == null
                || precision == null) {
            throw new IllegalArgumentException("path, groups (at least one), variant and precision must be given");
        }
        try (TorchFile file = TorchFile.open(path, UNREADABLE); NoGradGuard noGrad = new NoGradGuard()) {
            return new Reader(path, file, groups, trainingSteps, variant, precision).read();
        }
    }

    /** One read: the file and what it must fit. */
    private record Reader(Path path, TorchFile file, List<Target> groups, long trainingSteps, ListVariant variant,
                          Precision precision) {

        FileState read() throws IOException {
            Map<String, Object> top = stringDict(kindChecked(file.root()), "the file");
            require(top.keySet().equals(Set.of("state", "param_groups")), "it holds " + top.keySet() + ", not an"
                    + " optimizer state_dict ('state' and 'param_groups')");
            require(top.get("param_groups") instanceof List<?>, "its 'param_groups' is not a list");
            List<?> savedGroups = (List<?>) top.get("param_groups");
            require(savedGroups.size() == groups.size(), "it holds " + savedGroups.size() + " parameter groups,"
                    + " this optimizer " + groups.size() + " (another model?)");
            int total = 0;
            for (int g = 0; g < groups.size(); g++) {
                readGroup(g, stringDict(savedGroups.get(g), "param_groups[" + g + "]"), total);
                total += groups.get(g).params().size();
            }
            Map<Long, Map<String, Object>> saved = paramStates(top.get("state"), total);
            long index = 0;
            for (Target group : groups) {
                for (int i = 0; i < group.params().size(); i++, index++) {
                    if (saved.containsKey(index)) {
                        requireParamState(saved.get(index), group.params().get(i), where(index));
                    }
                }
            }
            // Everything is checked: now the tensors' bytes are read, each into a new tensor.
            List<FileState.Group> out = new ArrayList<>();
            index = 0;
            long stepCount = 0;
            for (int g = 0; g < groups.size(); g++) {
                List<FileState.Param> params = new ArrayList<>();
                List<Tensor> tensors = groups.get(g).params();
                for (int i = 0; i < tensors.size(); i++, index++) {
                    Map<String, Object> entry = saved.get(index);
                    FileState.Param param = entry == null ? FileState.Param.empty()
                            : paramState(entry, tensors.get(i));
                    stepCount = Math.max(stepCount, param.step());
                    params.add(param);
                }
                out.add(new FileState.Group(groups.get(g).config(), List.of(), params));
            }
            return new FileState(trainingSteps, variant, precision.name(), stepCount, out);
        }

        /** How messages name the parameter of torch's index {@code index}. */
        private String where(long index) {
            long first = 0;
            for (int g = 0; g < groups.size(); g++) {
                int count = groups.get(g).params().size();
                if (index < first + count) {
                    return "group " + g + " parameter " + (index - first) + " (state[" + index + "])";
                }
                first += count;
            }
            return "state[" + index + "]";
        }

        /** Refuses, naming the method that reads it, an opt-list checkpoint or a TorchScript module. */
        private Object kindChecked(Object root) throws RefusedFileException {
            if (root instanceof Pickled.ScriptObject object) {
                boolean checkpoint = object.state instanceof Map<?, ?> attributes
                        && attributes.get("metadata") instanceof String text
                        && text.startsWith("{\"format\":\"" + Checkpoints.FORMAT + "\"");
                throw new RefusedFileException(path + " is not a Python state_dict: " + (checkpoint
                        ? "it is an opt-list optimizer checkpoint (as save(path) writes); read it with load(path)"
                        : "it holds " + Pickled.describe(object) + " (a model saved by torch.jit.save?)"));
            }
            return root;
        }

        private void readGroup(int g, Map<String, Object> saved, int first) throws RefusedFileException {
            String where = "param_groups[" + g + "]";
            NAdamWConfig config = groups.get(g).config();
            for (String key : saved.keySet()) {
                require(HYPERPARAMETERS.containsKey(key) || key.equals(TRAINING_STEPS) || key.equals(PARAMS)
                        || key.equals(VARIANT_KEY), where + " has the key '" + key + "', which the published"
                        + " NadamWCosineDecay does not write (another optimizer's state_dict?)");
            }
            for (String key : HYPERPARAMETERS.keySet()) {
                require(saved.containsKey(key), where + " lacks '" + key + "' (another optimizer's state_dict?)");
            }
            require(saved.containsKey(TRAINING_STEPS) && saved.containsKey(PARAMS), where + " lacks '"
                    + (saved.containsKey(PARAMS) ? TRAINING_STEPS : PARAMS) + "'");
            ListVariant saidVariant = ListVariant.TORCH_PORT;
            if (saved.containsKey(VARIANT_KEY)) {
                Object value = saved.get(VARIANT_KEY);
                require(value instanceof String name && (name.equals("TASKSET") || name.equals("TORCH_PORT")),
                        where + "'s '" + VARIANT_KEY + "' is not TASKSET or TORCH_PORT");
                saidVariant = ListVariant.valueOf((String) value);
            }
            require(saidVariant == variant, where + " was written by an optimizer running as " + saidVariant
                    + (saved.containsKey(VARIANT_KEY) ? "" : " (the published binding)") + ", this optimizer runs"
                    + " as " + variant);
            for (Map.Entry<String, Function<NAdamWConfig, Object>> entry : HYPERPARAMETERS.entrySet()) {
                Object expected = entry.getValue().apply(config);
                Object value = saved.get(entry.getKey());
                boolean same = expected instanceof Boolean flag ? value instanceof Boolean b && b == flag
                        : number(value) != null && number(value) == (double) (Double) expected;
                require(same, where + "'s '" + entry.getKey() + "' is " + Pickled.describe(value) + ", this"
                        + " optimizer's group " + g + " (" + config.name() + ") has " + expected);
            }
            Object steps = saved.get(TRAINING_STEPS);
            require(steps instanceof Long n && n == trainingSteps, where + "'s 'training_steps' is "
                    + Pickled.describe(steps) + ", this optimizer trains for " + trainingSteps);
            require(saved.get(PARAMS) instanceof List<?>, where + "'s 'params' is not a list");
            List<?> indices = (List<?>) saved.get(PARAMS);
            int count = groups.get(g).params().size();
            require(indices.size() == count, where + " holds " + indices.size() + " parameters, this optimizer's"
                    + " group " + g + " " + count + " (another model?)");
            for (int i = 0; i < count; i++) {
                Object index = indices.get(i);
                require(index instanceof Long n && n == first + i, where + "'s 'params' is not numbered as"
                        + " torch numbers parameters (" + first + " to " + (first + count - 1) + "): "
                        + Pickled.describe(index) + " at position " + i);
            }
        }

        private Map<Long, Map<String, Object>> paramStates(Object state, int total) throws RefusedFileException {
            require(state instanceof Map<?, ?>, "its 'state' is not a dict");
            Map<Long, Map<String, Object>> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) state).entrySet()) {
                Object key = entry.getKey();
                require(key instanceof Long n && n >= 0 && n < total, "its 'state' has the key "
                        + Pickled.describe(key) + ", not a parameter index from 0 to " + (total - 1));
                Map<String, Object> param = stringDict(entry.getValue(), "state[" + key + "]");
                require(param.keySet().equals(PARAM_KEYS), "state[" + key + "] holds " + param.keySet()
                        + ", the published NadamWCosineDecay keeps " + PARAM_KEYS);
                out.put((Long) key, param);
            }
            return out;
        }

        /** Checks one parameter's saved state against it, reading no tensor bytes. */
        private void requireParamState(Map<String, Object> saved, Tensor param, String where)
                throws RefusedFileException {
            Object step = saved.get(STEP);
            require(step instanceof Long n && n >= 1 && n <= CosineSchedule.MAX_STEPS, where + " has the step "
                    + Pickled.describe(step) + ", expected a Python int from 1 to 2^53");
            int dtype = param.scalar_type().value;
            for (String name : List.of(EXP_AVG, EXP_AVG_SQ)) {
                Object value = saved.get(name);
                require(value instanceof Pickled.TensorRecord, where + "'s '" + name + "' is "
                        + Pickled.describe(value) + ", not a tensor");
                Pickled.TensorRecord moment = (Pickled.TensorRecord) value;
                require(Arrays.equals(moment.sizes(), param.shape()), where + "'s '" + name + "' has shape "
                        + Arrays.toString(moment.sizes()) + ", the parameter " + Arrays.toString(param.shape())
                        + " (another model?)");
                String got = moment.storage().dtype().scalarType;
                boolean fits = got.equals(param.scalar_type().toString())
                        || got.equals("Float") && ScalarTypes.isHalf(dtype);
                require(fits, where + "'s '" + name + "' is " + got + ", the parameter " + param.scalar_type()
                        + " (expected the parameter's dtype" + (ScalarTypes.isHalf(dtype) ? " or Float)" : ")"));
            }
        }

        /** The state of one parameter, checked by {@link #requireParamState}, its tensors read from the file. */
        private FileState.Param paramState(Map<String, Object> saved, Tensor param) throws IOException {
            int dtype = param.scalar_type().value;
            int stateDtype = precision.stateDtype().applyAsInt(dtype);
            Tensor[] moments = new Tensor[2];
            String[] names = {EXP_AVG, EXP_AVG_SQ};
            for (int n = 0; n < 2; n++) {
                Tensor read = file.tensor((Pickled.TensorRecord) saved.get(names[n]));
                moments[n] = read.scalar_type().value == stateDtype ? read : read.to(ScalarTypes.of(stateDtype));
            }
            Tensor master = null;
            if (precision.keepsMaster().test(dtype)) {
                master = param.detach().to(moments[0].device(), ScalarType.Float, false, true,
                        new MemoryFormatOptional());
            }
            return new FileState.Param((Long) saved.get(STEP), moments[0], moments[1], master);
        }

        private Map<String, Object> stringDict(Object value, String what) throws RefusedFileException {
            require(value instanceof Map<?, ?>, what + " is " + Pickled.describe(value) + ", not a dict");
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                require(entry.getKey() instanceof String, what + " has the key "
                        + Pickled.describe(entry.getKey()) + ", expected string keys");
                out.put((String) entry.getKey(), entry.getValue());
            }
            return out;
        }

        private void require(boolean condition, String problem) throws RefusedFileException {
            if (!condition) {
                throw new RefusedFileException("cannot load " + path + ": " + problem);
            }
        }
    }

    /** A Python int or float as a Double, else null. */
    private static Double number(Object value) {
        if (value instanceof Double d) {
            return d;
        }
        return value instanceof Long n ? (double) n : null;
    }
}
