package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.torch.files.Checkpoints;
import io.github.optlist.torch.files.FileState;
import io.github.optlist.torch.files.Precision;
import io.github.optlist.torch.files.PythonStateDicts;
import io.github.optlist.torch.files.RefusedFileException;
import io.github.optlist.torch.files.Target;
import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An optimizer's files, as {@link ListOptimizer#save}, {@link ListOptimizer#load} and the Python state_dict methods
 * describe them: the formats of {@link io.github.optlist.torch.files} given this package's state values, and their
 * refusals given as {@link CheckpointException}s, message unchanged.
 */
final class CheckpointFiles {

    private CheckpointFiles() {
    }

    /** Writes {@code state} (asked for once the path is known to be given) over {@code groups} to {@code path}. */
    static void save(Path path, Supplier<OptimizerState> state, List<ParamGroup> groups) throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        OptimizerState value = state.get();
        Checkpoints.save(fileState(value), targets(groups), precision(value.statePrecision()), path);
    }

    /**
     * Reads the state at {@code path} for {@code groups} and gives it to {@code loadState}, which checks it before
     * changing anything; its refusal becomes a {@link CheckpointException} naming {@code path}.
     */
    static void load(Path path, List<ParamGroup> groups, Consumer<OptimizerState> loadState) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            FileState read;
            try {
                read = Checkpoints.load(path, targets(groups));
            } catch (RefusedFileException e) {
                throw refused(e);
            }
            OptimizerState state;
            try {
                state = stateValue(read);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException("cannot load " + path + ": " + e.getMessage(), e);
            }
            try {
                loadState.accept(state);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException("cannot load " + path + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Writes {@code state} as the published binding's {@code torch.save(opt.state_dict())}, as
     * {@link PythonStateDicts#write} says.
     *
     * @throws IllegalArgumentException if {@code state} or {@code path} is null, or Python would update the state
     *                                  otherwise; nothing is written then
     */
    static void writePythonStateDict(OptimizerState state, Path path) throws IOException {
        if (state == null || path == null) {
            throw new IllegalArgumentException("state and path must not be null");
        }
        PythonStateDicts.write(fileState(state), path);
    }

    /**
     * The state the binding's state_dict file at {@code path} holds for an optimizer over {@code groups}, as
     * {@link PythonStateDicts#read} says; its tensors are new, in the caller's scope.
     *
     * @throws IllegalArgumentException if an argument is null or {@code groups} empty
     * @throws CheckpointException      if the file is refused
     */
    static OptimizerState readPythonStateDict(Path path, List<ParamGroup> groups, long trainingSteps,
                                              ListVariant variant, StatePrecision precision) throws IOException {
        if (path == null || groups == null || groups.isEmpty() || groups.stream().anyMatch(Objects::isNull)
                || variant == null
                || precision == null) {
            throw new IllegalArgumentException("path, groups (at least one), variant and precision must be given");
        }
        FileState read;
        try {
            read = PythonStateDicts.read(path, targets(groups), trainingSteps, variant, precision(precision));
        } catch (RefusedFileException e) {
            throw refused(e);
        }
        return stateValue(read);
    }

    /** {@code groups} as the formats and {@link io.github.optlist.torch.files.StateMatching} see them. */
    static List<Target> targets(List<ParamGroup> groups) {
        return groups.stream().map(group -> new Target(group.params(), group.config(), group.names())).toList();
    }

    private static Precision precision(StatePrecision precision) {
        return new Precision(precision.name(), dtype -> StatePrecision.stateDtypeFor(dtype, precision),
                dtype -> StatePrecision.keepsMaster(dtype, precision));
    }

    private static FileState fileState(OptimizerState state) {
        return new FileState(state.trainingSteps(), state.variant(), state.statePrecision().name(), state.stepCount(),
                state.groups().stream().map(group -> new FileState.Group(group.config(), group.paramNames(),
                        group.params().stream().map(param -> new FileState.Param(param.step(), param.expAvg(),
                                param.expAvgSq(), param.master())).toList())).toList());
    }

    /**
     * The state value of what a file holds, checked by its constructors.
     *
     * @throws IllegalArgumentException if the constructors refuse it
     */
    private static OptimizerState stateValue(FileState state) {
        return new OptimizerState(state.trainingSteps(), state.variant(),
                state.statePrecision() == null ? null : StatePrecision.valueOf(state.statePrecision()),
                state.stepCount(), state.groups().stream().map(group -> new OptimizerState.Group(group.config(),
                        group.paramNames(), group.params().stream().map(param -> new OptimizerState.Param(param.step(),
                                param.expAvg(), param.expAvgSq(), param.master())).toList())).toList());
    }

    /** The same refusal, thrown where the format threw it. */
    private static CheckpointException refused(RefusedFileException e) {
        CheckpointException refused = new CheckpointException(e.getMessage(), e.getCause());
        refused.setStackTrace(e.getStackTrace());
        return refused;
    }
}
