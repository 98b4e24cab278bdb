package io.github.optlist.torch.files;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.optlist.CosineSchedule;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.internal.Messages;
import io.github.optlist.internal.ScalarTypes;
import io.github.optlist.internal.AtomicFile;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The checkpoint file of an optimizer's state ({@link FileState}): one LibTorch archive holding the moments of every
 * parameter that has state, under {@code g<group>.p<index>.exp_avg} and {@code .exp_avg_sq} (and its float32
 * master copy under {@code .master}, if it has one), and a JSON document (written by Jackson) under
 * {@code metadata}: the format name and version, the training length, the schedule variant, the state precision,
 * the optimizer's step count, and per group its configuration and per parameter its name (null when unnamed), shape,
 * dtype, state dtype, whether it has a master copy, and step count.
 *
 * <p>A checkpoint whose parameters all have names loads into an optimizer whose parameters all have names by name
 * ({@link StateMatching}); any other by position.
 */
public final class Checkpoints {

    static final String FORMAT = "opt-list/NAdamWCosineDecay";
    /**
     * 4 since parameters have names: each parameter's metadata holds its name (null when unnamed), and a checkpoint
     * with names loads by name; version 2 and 3 files hold none and load by position. 3 since half-precision
     * parameters may keep float32 state ({@code StatePrecision}): the metadata names the state precision and each
     * parameter's state dtype, and the archive may hold master copies. Version 2 files load as what they hold, state
     * in the parameters' dtype ({@code PARAM_DTYPE}). 2 since the list variants became exact: a
     * version 1 checkpoint was written when {@code TASKSET} still applied the entries' Nesterov flag, so its moments
     * came from another update.
     */
    public static final int VERSION = 4;
    /** The oldest version this library reads. */
    static final int OLDEST_READABLE_VERSION = 2;
    /** The names of the state precisions a checkpoint may record, as {@code StatePrecision} names them. */
    public static final Set<String> STATE_PRECISIONS = Set.of("FLOAT32", "FLOAT32_MASTER_WEIGHTS", "PARAM_DTYPE");
    /** What version 2 files hold their state in: the parameters' dtype. */
    private static final String VERSION_2_PRECISION = "PARAM_DTYPE";
    private static final String METADATA_KEY = "metadata";
    /** How a file that is no checkpoint is described. */
    private static final String UNREADABLE = "is not a readable LibTorch archive";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    record Metadata(String format, int version, long trainingSteps, ListVariant variant,
                    String statePrecision, long stepCount, List<GroupMetadata> groups) {
    }

    record GroupMetadata(NAdamWConfig config, List<ParamMetadata> params) {
    }

    record ParamMetadata(String name, long[] shape, String dtype, String stateDtype, boolean master, long step,
                         boolean hasState) {
    }

    private Checkpoints() {
    }

    /**
     * Writes {@code state}, the state of an optimizer over {@code groups} kept at {@code precision} (which says the
     * state dtype recorded for a parameter without state yet), with {@link AtomicFile#write}. LibTorch
     * serializes the archive into a Java callback ({@link ArchiveChannelWriter}) rather than into a file of its own:
     * a write it sees fail aborts the JVM (its stream writer rethrows from a destructor), while a failed Java write
     * is an {@link IOException} here.
     */
    public static void save(FileState state, List<Target> groups, Precision precision, Path path)
            throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            OutputArchive archive = archive(state, groups, precision);
            AtomicFile.write(path, "the optimizer", channel -> ArchiveChannelWriter.save(archive, channel));
        } catch (RuntimeException e) {
            throw new IOException("cannot save the optimizer to " + path + ": " + Messages.firstLine(e)
                    + "; the previous file, if any, is unchanged", e);
        }
    }

    /** The archive holding {@code state}; the parameters' shapes and dtypes come from {@code groups}. */
    private static OutputArchive archive(FileState state, List<Target> groups, Precision precision)
            throws JsonProcessingException {
        OutputArchive archive = new OutputArchive();
        List<GroupMetadata> groupsMetadata = new ArrayList<>();
        for (int g = 0; g < state.groups().size(); g++) {
            FileState.Group group = state.groups().get(g);
            List<ParamMetadata> params = new ArrayList<>();
            for (int i = 0; i < group.params().size(); i++) {
                FileState.Param param = group.params().get(i);
                Tensor tensor = groups.get(g).params().get(i);
                int dtype = tensor.scalar_type().value;
                String stateDtype = param.hasMoments() ? param.expAvg().scalar_type().toString()
                        : ScalarTypes.of(precision.stateDtype().applyAsInt(dtype)).toString();
                String name = group.paramNames().isEmpty() ? null : group.paramNames().get(i);
                params.add(new ParamMetadata(name, tensor.shape(), tensor.scalar_type().toString(), stateDtype,
                        param.master() != null, param.step(), param.hasMoments()));
                if (param.hasMoments()) {
                    archive.write(key(g, i, "exp_avg"), param.expAvg());
                    archive.write(key(g, i, "exp_avg_sq"), param.expAvgSq());
                    if (param.master() != null) {
                        archive.write(key(g, i, "master"), param.master());
                    }
                }
            }
            groupsMetadata.add(new GroupMetadata(group.config(), params));
        }
        Metadata metadata = new Metadata(FORMAT, VERSION, state.trainingSteps(), state.variant(),
                state.statePrecision(), state.stepCount(), groupsMetadata);
        archive.write(METADATA_KEY, new IValue(MAPPER.writeValueAsString(metadata)));
        return archive;
    }

    /**
     * Reads the checkpoint at {@code path} and checks it for consistency and against the parameters of
     * {@code groups} (their number, shapes and dtypes); returns the state it holds, its tensors new CPU tensors in the
     * caller's scope. Whether the state fits the optimizer otherwise is {@code OptimizerState}'s to say.
     * The file is read by {@link TorchFile}, which runs nothing from it.
     *
     * @throws RefusedFileException if the file is refused, naming it and why
     */
    public static FileState load(Path path, List<Target> groups) throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        try (TorchFile file = TorchFile.open(path, UNREADABLE); NoGradGuard noGrad = new NoGradGuard()) {
            return readAndValidate(path, file, groups);
        }
    }

    private static FileState readAndValidate(Path path, TorchFile file, List<Target> groups)
            throws IOException {
        Map<?, ?> module = moduleAttributes(path, file.root());
        Metadata metadata = metadata(path, module.get(METADATA_KEY));
        require(metadata.groups() != null && !metadata.groups().isEmpty(), path, "the checkpoint holds no group");
        for (int g = 0; g < metadata.groups().size(); g++) {
            GroupMetadata group = metadata.groups().get(g);
            require(group != null && group.config() != null && group.params() != null
                    && group.params().stream().allMatch(java.util.Objects::nonNull), path,
                    "group " + g + " lacks its config or parameters");
        }
        List<List<String>> savedNames = metadata.groups().stream().map(Checkpoints::names).toList();
        boolean byName = StateMatching.byName(savedNames, groups);
        List<List<StateMatching.Source>> sources = byName ? matchByName(path, metadata, savedNames, groups)
                : byPosition(path, metadata, groups);
        List<List<ParamMetadata>> saved = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            Target target = groups.get(g);
            List<ParamMetadata> group = new ArrayList<>();
            for (int i = 0; i < target.params().size(); i++) {
                StateMatching.Source source = sources.get(g).get(i);
                ParamMetadata param = metadata.groups().get(source.group()).params().get(source.index());
                requireFits(path, param, target.params().get(i), StateMatching.where(target, g, i));
                if (param.hasState()) {
                    requireMoments(path, module, source.group(), source.index(), target.params().get(i), param);
                }
                group.add(param);
            }
            saved.add(group);
        }
        // Everything is checked: now the tensors' bytes are read, each into a new tensor.
        List<FileState.Group> groupStates = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            Target target = groups.get(g);
            List<FileState.Param> dicts = new ArrayList<>();
            for (int i = 0; i < target.params().size(); i++) {
                StateMatching.Source source = sources.get(g).get(i);
                ParamMetadata param = saved.get(g).get(i);
                if (param.hasState()) {
                    Tensor[] tensors = readMoments(file, module, source.group(), source.index(), param);
                    dicts.add(new FileState.Param(param.step(), tensors[0], tensors[1],
                            tensors.length > 2 ? tensors[2] : null));
                } else {
                    dicts.add(FileState.Param.empty());
                }
            }
            if (byName) {
                groupStates.add(new FileState.Group(target.config(), target.names(), dicts));
            } else {
                List<String> names = savedNames.get(g) == null ? List.of() : savedNames.get(g);
                groupStates.add(new FileState.Group(metadata.groups().get(g).config(), names, dicts));
            }
        }
        return new FileState(metadata.trainingSteps(), metadata.variant(), metadata.statePrecision(),
                metadata.stepCount(), groupStates);
    }

    /** The attributes of the module LibTorch's {@code OutputArchive} pickles, refusing other kinds of file. */
    private static Map<?, ?> moduleAttributes(Path path, Object root) throws RefusedFileException {
        if (root instanceof Map<?, ?> dict && dict.containsKey("state") && dict.containsKey("param_groups")) {
            throw new RefusedFileException(path + " is not an opt-list optimizer checkpoint: it holds a Python"
                    + " optimizer state_dict (as torch.save(opt.state_dict()) writes); read it with"
                    + " loadPythonStateDict(path)");
        }
        if (!(root instanceof Pickled.ScriptObject module) || !(module.state instanceof Map<?, ?> attributes)
                || !(attributes.get(METADATA_KEY) instanceof String)) {
            String what = root instanceof Pickled.ScriptObject object ? " (it holds " + Pickled.describe(object)
                    + ": a model saved by torch.jit.save or OutputArchive?)" : " (it holds " + Pickled.describe(root)
                    + ")";
            throw new RefusedFileException(path + " is not an opt-list optimizer checkpoint: it has no metadata"
                    + what);
        }
        return attributes;
    }

    private static Metadata metadata(Path path, Object text) throws RefusedFileException {
        try {
            JsonNode tree = MAPPER.readTree((String) text);
            String format = tree.path("format").asText();
            int version = tree.path("version").asInt(-1);
            if (!FORMAT.equals(format)) {
                throw new RefusedFileException(path + " holds format '" + format + "', expected '" + FORMAT + "'");
            }
            if (version > VERSION) {
                throw new RefusedFileException(path + " has format version " + version
                        + ", newer than this library's " + VERSION + "; upgrade opt-list to load it");
            }
            if (version < OLDEST_READABLE_VERSION) {
                throw new RefusedFileException(path + " has format version " + version + ", written before the list"
                        + " variants were made exact (TASKSET then applied the entries' Nesterov flag, which the"
                        + " ranked list never did), so its moments come from another update; restart training"
                        + " from the model's weights with a fresh optimizer");
            }
            if (version == 2) {
                asVersion3(tree);
            }
            if (version <= 3) {
                asVersion4(tree);
            }
            Metadata metadata = MAPPER.treeToValue(tree, Metadata.class);
            if (metadata.statePrecision() != null && !STATE_PRECISIONS.contains(metadata.statePrecision())) {
                throw new RefusedFileException(path + " has unreadable metadata: the state precision '"
                        + metadata.statePrecision() + "' is none of " + new TreeSet<>(STATE_PRECISIONS));
            }
            return metadata;
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new RefusedFileException(path + " has unreadable metadata: " + Messages.firstLine(e), e);
        }
    }

    private static void requireFits(Path path, ParamMetadata saved, Tensor param, String where)
            throws RefusedFileException {
        require(saved.shape() != null && saved.dtype() != null && saved.stateDtype() != null, path, where
                + " lacks its shape or dtypes in the checkpoint");
        require(Arrays.equals(saved.shape(), param.shape()), path, where + " has shape "
                + Arrays.toString(saved.shape()) + " in the checkpoint, " + Arrays.toString(param.shape())
                + " here (another model?)");
        require(saved.dtype().equals(param.scalar_type().toString()), path, where + " has dtype "
                + saved.dtype() + " in the checkpoint, " + param.scalar_type() + " here");
        require(saved.step() >= 0 && saved.step() <= CosineSchedule.MAX_STEPS
                && saved.hasState() == (saved.step() > 0), path, where
                + " has an inconsistent step count in the checkpoint: " + saved.step());
    }

    /** The names of a saved parameter's tensors in the archive. */
    private static List<String> momentNames(ParamMetadata saved) {
        return saved.master() ? List.of("exp_avg", "exp_avg_sq", "master") : List.of("exp_avg", "exp_avg_sq");
    }

    private static void requireMoments(Path path, Map<?, ?> module, int g, int i, Tensor param, ParamMetadata saved)
            throws RefusedFileException {
        List<String> names = momentNames(saved);
        for (int n = 0; n < names.size(); n++) {
            String name = key(g, i, names.get(n));
            require(module.get(name) instanceof Pickled.TensorRecord, path,
                    "the checkpoint lacks the tensor " + name);
            Pickled.TensorRecord record = (Pickled.TensorRecord) module.get(name);
            String dtype = n < 2 ? saved.stateDtype() : "Float";
            require(Arrays.equals(record.sizes(), param.shape())
                            && record.storage().dtype().scalarType.equals(dtype), path,
                    "the checkpoint's " + name + " does not match its parameter's shape and state dtype");
        }
    }

    private static Tensor[] readMoments(TorchFile file, Map<?, ?> module, int g, int i, ParamMetadata saved)
            throws IOException {
        List<String> names = momentNames(saved);
        Tensor[] tensors = new Tensor[names.size()];
        for (int n = 0; n < names.size(); n++) {
            tensors[n] = file.tensor((Pickled.TensorRecord) module.get(key(g, i, names.get(n))));
        }
        return tensors;
    }

    /** A saved group's names, or null when one of its parameters has none. */
    private static List<String> names(GroupMetadata group) {
        List<String> names = group.params().stream().map(ParamMetadata::name).toList();
        return names.isEmpty() || names.contains(null) ? null : names;
    }

    private static List<List<StateMatching.Source>> matchByName(Path path, Metadata metadata,
                                                                List<List<String>> savedNames,
                                                                List<Target> groups) throws RefusedFileException {
        try {
            return StateMatching.match(savedNames, metadata.groups().stream().map(GroupMetadata::config).toList(),
                    groups, "the checkpoint");
        } catch (IllegalArgumentException e) {
            throw new RefusedFileException("cannot load " + path + ": " + e.getMessage(), e);
        }
    }

    /** Each target parameter's saved position when matched by position: its own, once the counts are checked. */
    private static List<List<StateMatching.Source>> byPosition(Path path, Metadata metadata, List<Target> groups)
            throws RefusedFileException {
        require(metadata.groups().size() == groups.size(), path, "the checkpoint holds " + metadata.groups().size()
                + " parameter groups, this optimizer " + groups.size() + " (another model?)");
        List<List<StateMatching.Source>> sources = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            int saved = metadata.groups().get(g).params().size();
            int here = groups.get(g).params().size();
            require(saved == here, path, "group " + g + " of the checkpoint holds " + saved + " parameters, this"
                    + " optimizer " + here + " (another model?)");
            List<StateMatching.Source> group = new ArrayList<>();
            for (int i = 0; i < here; i++) {
                group.add(new StateMatching.Source(g, i));
            }
            sources.add(group);
        }
        return sources;
    }

    /**
     * Fills in what a version 2 document lacks: its state was in the parameters' dtype, without master copies.
     */
    private static void asVersion3(JsonNode tree) {
        if (tree instanceof ObjectNode root) {
            root.put("statePrecision", VERSION_2_PRECISION);
            for (JsonNode group : tree.path("groups")) {
                for (JsonNode param : group.path("params")) {
                    if (param instanceof ObjectNode node) {
                        node.set("stateDtype", node.get("dtype"));
                        node.put("master", false);
                    }
                }
            }
        }
    }

    /** Fills in what a version 2 or 3 document lacks: its parameters had no names. */
    private static void asVersion4(JsonNode tree) {
        for (JsonNode group : tree.path("groups")) {
            for (JsonNode param : group.path("params")) {
                if (param instanceof ObjectNode node) {
                    node.putNull("name");
                }
            }
        }
    }

    private static void require(boolean condition, Path path, String problem) throws RefusedFileException {
        if (!condition) {
            throw new RefusedFileException("cannot load " + path + ": " + problem);
        }
    }

    private static String key(int group, int index, String name) {
        return "g" + group + ".p" + index + "." + name;
    }
}
