package io.github.optlist.torch;

import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.GenericDict;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixtures Python wrote with {@code scripts/python/make_fixtures.py} (see
 * {@code src/test/resources/python-fixtures/README.md}): a TorchScript model, its batches, and per entry the
 * binding's uninterrupted run and its state at the handover step.
 */
final class PythonFixtures {

    static final Path DIR = Path.of("src/test/resources/python-fixtures");
    static final long TRAINING_STEPS = 60;
    static final int STEPS = 30;
    static final int HANDOVER = 10;
    static final int BATCHES = 6;

    private PythonFixtures() {
    }

    /** A file written by Python's {@code torch.save}, as LibTorch's unpickler reads it. */
    static IValue load(Path path) {
        try {
            return torch.pickle_load(new ByteVector(Files.readAllBytes(path)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A TorchScript model, read with graph optimisation off as Python ran it (see the fixtures' README). */
    static JitModule model(Path path) {
        torch.setGraphExecutorOptimize(false);
        return torch.load(path.toString());
    }

    static IValue get(IValue dict, String key) {
        GenericDict d = dict.toGenericDict();
        return d.at(new IValue(key));
    }

    static List<Double> doubles(IValue list) {
        GenericList l = list.toList();
        List<Double> out = new ArrayList<>();
        for (long i = 0; i < l.size(); i++) {
            out.add(l.get(i).toDouble());
        }
        return out;
    }

    static List<String> strings(IValue list) {
        GenericList l = list.toList();
        List<String> out = new ArrayList<>();
        for (long i = 0; i < l.size(); i++) {
            out.add(l.get(i).toStringRef().getString());
        }
        return out;
    }

    /** The batches: inputs {@code [6,16,1,8,8]} float64 and targets {@code [6,16]} int64. */
    record Batches(Tensor inputs, Tensor targets) {
        static Batches read() {
            IValue b = load(DIR.resolve("batches.pt"));
            return new Batches(get(b, "inputs").toTensor(), get(b, "targets").toTensor());
        }

        /** The loss of step {@code k}: the model's own {@code loss} method on batch {@code k % 6}. */
        Tensor loss(JitModule model, int k) {
            return model.get_method("loss").apply(new IValueVector(new IValue(inputs.select(0, k % BATCHES)),
                    new IValue(targets.select(0, k % BATCHES)))).toTensor();
        }
    }
}
