package io.github.optlist.torch;

import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An optimizer's checkpoint file, as {@link ListOptimizer#save} and {@link ListOptimizer#load} describe it: the state
 * in {@link Checkpoints}' format, and a file whose state does not fit refused as a {@link CheckpointException}.
 */
final class CheckpointFiles {

    private CheckpointFiles() {
    }

    /** Writes {@code state} (asked for once the path is known to be given) over {@code groups} to {@code path}. */
    static void save(Path path, Supplier<OptimizerState> state, List<ParamGroup> groups) throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("path must not be null");
        }
        Checkpoints.save(state.get(), groups, path);
    }

    /**
     * Reads the state at {@code path} for {@code groups} and gives it to {@code loadState}, which checks it before
     * changing anything; its refusal becomes a {@link CheckpointException} naming {@code path}.
     */
    static void load(Path path, List<ParamGroup> groups, Consumer<OptimizerState> loadState) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            OptimizerState state = Checkpoints.load(path, groups);
            try {
                loadState.accept(state);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException("cannot load " + path + ": " + e.getMessage(), e);
            }
        }
    }
}
