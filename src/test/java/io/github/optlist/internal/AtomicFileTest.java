package io.github.optlist.internal;

import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.ParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where {@link AtomicFile} puts its temporary file, and which targets it refuses. */
class AtomicFileTest {

    @TempDir
    Path dir;

    static List<String> names(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aTargetNameOfTheLongestLegalLengthIsSaved() throws IOException {
        // 255 bytes, the most a file name may have on Linux's file systems; the temporary name must not add to it
        Path target = dir.resolve("r".repeat(250) + ".json");
        AtomicFile.writeString(target, "the results", "first");
        AtomicFile.writeString(target, "the results", "second");
        assertEquals("second", Files.readString(target));
        assertEquals(List.of(target.getFileName().toString()), names(dir));
    }

    @Test
    void theTemporaryFileIsShortAndSitsBesideTheTarget() throws IOException {
        Path target = dir.resolve("opt.ckpt");
        List<String> during = new ArrayList<>();
        AtomicFile.write(target, "the optimizer", channel -> {
            during.addAll(names(dir));
            channel.write(ByteBuffer.wrap("x".getBytes(StandardCharsets.UTF_8)));
        });
        assertEquals(1, during.size(), during.toString());
        assertTrue(during.get(0).matches("\\.optlist-" + ProcessHandle.current().pid() + "-\\d+\\.tmp"),
                during.get(0));
        assertEquals(List.of("opt.ckpt"), names(dir), "the temporary file became the target");
    }

    @Test
    void aPathWithoutAFileNameIsRefusedNamingIt() throws IOException {
        var root = assertThrows(IOException.class, () -> AtomicFile.writeString(Path.of("/"), "the results", "x"));
        assertEquals("cannot save the results to /: the path names no file; nothing was written", root.getMessage());
        for (Path folder : new Path[]{dir.resolve("."), dir.resolve("..")}) {
            var e = assertThrows(IOException.class, () -> AtomicFile.writeString(folder, "the results", "x"));
            assertEquals("cannot save the results to " + folder + ": the path names no file; nothing was written",
                    e.getMessage());
        }
        assertEquals(List.of(), names(dir));
    }

    @Test
    void anOptimizerSavedToTheRootIsRefusedNamingThePath() throws IOException {
        Tensor p = Tensor.create(new float[]{1, 2}, 2).set_requires_grad(true);
        try (var opt = NAdamWCosineDecay.of(new OptimizerSpec(List.of(ParamGroup.of(new TensorVector(p),
                OptList.config(0))), 10, ListVariant.TASKSET, OptimizerOptions.DEFAULTS))) {
            var e = assertThrows(IOException.class, () -> opt.save(Path.of("/")));
            assertEquals("cannot save the optimizer to /: the path names no file; nothing was written",
                    e.getMessage());
            assertEquals(0, opt.stepCount());
        }
    }
}
