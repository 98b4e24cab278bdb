package io.github.optlist.torch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The checkpoint file of a {@link NAdamWCosineDecay}: one LibTorch archive holding the moments of every
 * parameter that has state, under {@code g<group>.p<index>.exp_avg} and {@code .exp_avg_sq}, and a JSON
 * document (written by Jackson) under {@code metadata}: the format name and version, the training length, the
 * schedule variant, the optimizer's step count, and per group its configuration and per parameter its shape,
 * dtype and step count.
 */
final class Checkpoints {

    static final String FORMAT = "opt-list/NAdamWCosineDecay";
    /**
     * 2 since the list variants became exact: a version 1 checkpoint was written when {@code TASKSET} still applied
     * the entries' Nesterov flag, so its moments came from another update.
     */
    static final int VERSION = 2;
    private static final String METADATA_KEY = "metadata";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    record Metadata(String format, int version, long trainingSteps, ListVariant variant, long stepCount,
                    List<GroupMetadata> groups) {
    }

    record GroupMetadata(NAdamWConfig config, List<ParamMetadata> params) {
    }

    record ParamMetadata(long[] shape, String dtype, long step, boolean hasState) {
    }

    /** What a validated checkpoint restores: per group, per parameter, its step and moments (null when none). */
    private record Restored(long stepCount, List<List<ParamMetadata>> params, List<List<Tensor[]>> moments) {
    }

    private Checkpoints() {
    }

    static void save(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Path path, Runnable beforeRename)
            throws IOException {
        Path absolute = path.toAbsolutePath();
        Path temporary = absolute.resolveSibling(absolute.getFileName() + ".tmp" + ProcessHandle.current().pid());
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            OutputArchive archive = new OutputArchive();
            List<GroupMetadata> groups = new ArrayList<>();
            for (int g = 0; g < states.size(); g++) {
                List<ParamMetadata> params = new ArrayList<>();
                for (int i = 0; i < states.get(g).size(); i++) {
                    ParamState state = states.get(g).get(i);
                    params.add(new ParamMetadata(state.param.shape(), state.param.scalar_type().toString(),
                            state.step, state.initialized()));
                    if (state.initialized()) {
                        archive.write(key(g, i, "exp_avg"), state.expAvg);
                        archive.write(key(g, i, "exp_avg_sq"), state.expAvgSq);
                    }
                }
                groups.add(new GroupMetadata(optimizer.paramGroups().get(g).config(), params));
            }
            Metadata metadata = new Metadata(FORMAT, VERSION, optimizer.trainingSteps(), optimizer.variant(),
                    optimizer.stepCount(), groups);
            archive.write(METADATA_KEY, new IValue(MAPPER.writeValueAsString(metadata)));
            archive.save_to(temporary.toString());
            beforeRename.run();
            Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (RuntimeException e) {
            throw new IOException("cannot save the optimizer to " + path + ": " + firstLine(e), e);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    static void load(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(path.toString(), null, "no checkpoint file there");
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Restored restored = readAndValidate(optimizer, states, path);
            apply(optimizer, states, restored);
        }
    }

    private static Restored readAndValidate(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Path path)
            throws CheckpointException {
        InputArchive archive = new InputArchive();
        try {
            archive.load_from(path.toString(), new DeviceOptional(new Device("cpu")));
        } catch (RuntimeException e) {
            throw new CheckpointException(path + " is not a readable LibTorch archive (truncated or foreign?): "
                    + firstLine(e), e);
        }
        IValue text = new IValue();
        if (!archive.try_read(METADATA_KEY, text) || !text.isString()) {
            throw new CheckpointException(path + " is not an opt-list optimizer checkpoint: it has no metadata");
        }
        Metadata metadata;
        try {
            JsonNode tree = MAPPER.readTree(text.toStringRef().getString());
            String format = tree.path("format").asText();
            int version = tree.path("version").asInt(-1);
            if (!FORMAT.equals(format)) {
                throw new CheckpointException(path + " holds format '" + format + "', expected '" + FORMAT + "'");
            }
            if (version > VERSION) {
                throw new CheckpointException(path + " has format version " + version
                        + ", newer than this library's " + VERSION + "; upgrade opt-list to load it");
            }
            if (version < VERSION) {
                throw new CheckpointException(path + " has format version " + version + ", written before the list"
                        + " variants were made exact (TASKSET then applied the entries' Nesterov flag, which the"
                        + " ranked list never did), so its moments come from another update; restart training"
                        + " from the model's weights with a fresh optimizer");
            }
            metadata = MAPPER.treeToValue(tree, Metadata.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new CheckpointException(path + " has unreadable metadata: " + e.getMessage(), e);
        }
        require(metadata.trainingSteps() == optimizer.trainingSteps(), path, "the checkpoint was saved with trainingSteps "
                + metadata.trainingSteps() + ", this optimizer has " + optimizer.trainingSteps());
        require(metadata.variant() == optimizer.variant(), path, "the checkpoint was saved with list variant "
                + metadata.variant() + ", this optimizer has " + optimizer.variant());
        require(metadata.groups() != null && metadata.groups().size() == states.size(), path, "the checkpoint holds "
                + (metadata.groups() == null ? 0 : metadata.groups().size()) + " parameter groups, this optimizer "
                + states.size() + " (another model?)");
        List<List<ParamMetadata>> params = new ArrayList<>();
        List<List<Tensor[]>> moments = new ArrayList<>();
        for (int g = 0; g < states.size(); g++) {
            GroupMetadata group = metadata.groups().get(g);
            NAdamWConfig config = optimizer.paramGroups().get(g).config();
            require(config.equals(group.config()), path, "group " + g + " of the checkpoint has config " + group.config()
                    + ", this optimizer has " + config);
            require(group.params().size() == states.get(g).size(), path, "group " + g + " of the checkpoint holds "
                    + group.params().size() + " parameters, this optimizer " + states.get(g).size()
                    + " (another model?)");
            List<Tensor[]> groupMoments = new ArrayList<>();
            for (int i = 0; i < group.params().size(); i++) {
                ParamMetadata saved = group.params().get(i);
                Tensor param = states.get(g).get(i).param;
                String where = states.get(g).get(i).position;
                require(Arrays.equals(saved.shape(), param.shape()), path, where + " has shape "
                        + Arrays.toString(saved.shape()) + " in the checkpoint, " + Arrays.toString(param.shape())
                        + " here (another model?)");
                require(saved.dtype().equals(param.scalar_type().toString()), path, where + " has dtype "
                        + saved.dtype() + " in the checkpoint, " + param.scalar_type() + " here");
                require(saved.step() >= 0 && saved.hasState() == (saved.step() > 0), path, where
                        + " has an inconsistent step count in the checkpoint: " + saved.step());
                groupMoments.add(saved.hasState() ? readMoments(archive, path, g, i, param) : null);
            }
            params.add(group.params());
            moments.add(groupMoments);
        }
        return new Restored(metadata.stepCount(), params, moments);
    }

    private static Tensor[] readMoments(InputArchive archive, Path path, int g, int i, Tensor param)
            throws CheckpointException {
        Tensor[] pair = new Tensor[2];
        String[] names = {"exp_avg", "exp_avg_sq"};
        for (int n = 0; n < 2; n++) {
            Tensor moment = new Tensor();
            require(archive.try_read(key(g, i, names[n]), moment) && moment.defined(), path,
                    "the checkpoint lacks the tensor " + key(g, i, names[n]));
            require(Arrays.equals(moment.shape(), param.shape())
                            && moment.scalar_type().value == param.scalar_type().value, path,
                    "the checkpoint's " + key(g, i, names[n]) + " does not match its parameter's shape and dtype");
            pair[n] = moment;
        }
        return pair;
    }

    /** Runs only after every check passed, so a refused checkpoint leaves the optimizer as it was. */
    private static void apply(NAdamWCosineDecay optimizer, List<List<ParamState>> states, Restored restored) {
        for (int g = 0; g < states.size(); g++) {
            for (int i = 0; i < states.get(g).size(); i++) {
                ParamState state = states.get(g).get(i);
                Tensor[] moments = restored.moments().get(g).get(i);
                if (moments == null) {
                    state.release();
                } else {
                    if (!state.initialized()) {
                        state.initialize();
                    }
                    state.expAvg.copy_(moments[0]);
                    state.expAvgSq.copy_(moments[1]);
                }
                state.step = restored.params().get(g).get(i).step();
            }
        }
        optimizer.restoreStepCount(restored.stepCount());
    }

    private static void require(boolean condition, Path path, String problem) throws CheckpointException {
        if (!condition) {
            throw new CheckpointException("cannot load " + path + ": " + problem);
        }
    }

    private static String key(int group, int index, String name) {
        return "g" + group + ".p" + index + "." + name;
    }

    private static String firstLine(Throwable e) {
        String message = String.valueOf(e.getMessage());
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
