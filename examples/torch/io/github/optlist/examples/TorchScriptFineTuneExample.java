package io.github.optlist.examples;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.NamedParameters;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Bringing a PyTorch model: fine-tune a TorchScript model that Python wrote ({@code examples/python/model.pt}, made
 * by {@code examples/python/make_model.py}) with list entry 0 as the published PyTorch binding runs it, biases and
 * normalization parameters without weight decay, then save the model and the optimizer so that Python continues
 * the run ({@code examples/python/continue_run.py}).
 *
 * <p>Run it with {@code mvn -q compile exec:java@torchscript-example}; arguments, all optional:
 * {@code [model.pt [output folder [--one-group]]]}, by default {@code examples/python/model.pt} and
 * {@code target/torchscript-example}. It trains {@value #JAVA_STEPS} of {@value #TRAINING_STEPS} steps, prints
 * the losses and writes {@code model.pt} ({@code JitModule.save}) and {@code optimizer.pt}
 * ({@code savePythonStateDict}, what {@code torch.save(opt.state_dict())} writes) into the output folder. Then
 * {@code /usr/bin/python3 examples/python/continue_run.py} runs the remaining steps in Python.
 *
 * <p>The data is the same on both sides without a file: {@link #dataset()} and {@code examples/python/data.py}
 * compute it from a fixed integer generator with double arithmetic alone, which gives the same bits in Java and
 * Python.
 */
public final class TorchScriptFineTuneExample {

    /** The training length the schedule is laid out over, Java's steps and Python's together. */
    public static final long TRAINING_STEPS = 100;
    /** The steps Java runs before handing over. */
    public static final int JAVA_STEPS = 60;
    /** The list entry. */
    public static final int LIST_INDEX = 0;

    static final int FEATURES = 8;
    static final int SAMPLES = 256;
    static final int BATCH = 32;
    static final int BATCHES = SAMPLES / BATCH;
    static final long SEED = 16;

    private TorchScriptFineTuneExample() {
    }

    /**
     * The optimizer of list entry {@code idx}, run as the binding runs it ({@link ListVariant#TORCH_PORT}): with
     * {@code groupsByName}, two groups by name, weights with the entry's weight decay and biases and normalization
     * parameters without; otherwise one group, as {@code optimizer_for_idx(model.parameters(), idx, T)}.
     */
    public static NAdamWCosineDecay optimizer(JitModule model, int idx, long trainingSteps, boolean groupsByName) {
        if (!groupsByName) {
            return NAdamWCosineDecay.of(OptimizerSpec.forIdx(NamedParameters.of(model), idx, trainingSteps,
                    ListVariant.TORCH_PORT, OptimizerOptions.DEFAULTS));
        }
        NAdamWConfig entry = OptList.config(idx, ListVariant.TORCH_PORT);
        return NAdamWCosineDecay.of(new OptimizerSpec(
                NamedParameters.of(model).groupBy(NamedParameters.withoutDecayOnBiasesAndNorms(entry)),
                trainingSteps, ListVariant.TORCH_PORT, OptimizerOptions.DEFAULTS));
    }

    /**
     * Fine-tunes the model in {@code modelFile} for {@code steps} steps of a run of {@code trainingSteps}, saves
     * {@code model.pt} and {@code optimizer.pt} into {@code outDir} (created if missing) and returns the losses,
     * the loss of step k computed before that step's update.
     */
    public static double[] fineTune(Path modelFile, Path outDir, int idx, long trainingSteps, int steps,
                                    boolean groupsByName) throws IOException {
        // Off on both sides: with it on, a module reloaded mid-run takes other roundings than one trained since
        // step 0 (the Python scripts switch it off too).
        torch.setGraphExecutorOptimize(false);
        JitModule model = torch.load(modelFile.toString());
        Tensor[] data = dataset();
        double[] losses = new double[steps];
        try (NAdamWCosineDecay opt = optimizer(model, idx, trainingSteps, groupsByName)) {
            for (int k = 0; k < steps; k++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zeroGrad();
                    Tensor loss = loss(model, data, k);
                    loss.backward();
                    opt.step();
                    losses[k] = loss.item_double();
                }
            }
            Files.createDirectories(outDir);
            model.save(outDir.resolve("model.pt").toString());
            opt.savePythonStateDict(outDir.resolve("optimizer.pt"));
        }
        return losses;
    }

    /** The model's own {@code loss(x, y)} method (mean squared error) on the batch of step {@code k}. */
    public static Tensor loss(JitModule model, Tensor[] data, int k) {
        long from = (long) (k % BATCHES) * BATCH;
        Tensor x = data[0].narrow(0, from, BATCH);
        Tensor y = data[1].narrow(0, from, BATCH);
        return model.get_method("loss").apply(new IValueVector(new IValue(x), new IValue(y))).toTensor();
    }

    /**
     * The fine-tuning data, inputs {@code [256, 8]} and targets {@code [256, 1]} in float64, as
     * {@code examples/python/data.py} makes it: a 64-bit linear congruential generator (Knuth's MMIX constants),
     * each value {@code 2 * (state >>> 11) * 2^-53 - 1}, and a target of products and sums of the inputs.
     */
    public static Tensor[] dataset() {
        double[] x = new double[SAMPLES * FEATURES];
        long state = SEED;
        for (int i = 0; i < x.length; i++) {
            state = state * 6364136223846793005L + 1442695040888963407L;   // mod 2^64, as Python masks it
            x[i] = 2.0 * ((state >>> 11) * 0x1.0p-53) - 1.0;
        }
        double[] y = new double[SAMPLES];
        for (int r = 0; r < SAMPLES; r++) {
            int o = r * FEATURES;
            y[r] = x[o] * x[o + 1] + 0.5 * x[o + 2] - x[o + 3] * x[o + 4] + 0.25 * x[o + 5];
        }
        return new Tensor[]{Tensor.create(x, SAMPLES, FEATURES), Tensor.create(y, SAMPLES, 1)};
    }

    /** Fine-tunes, saves, and prints the losses and what to run next. */
    public static void main(String[] args) throws IOException {
        Path modelFile = Path.of(args.length > 0 ? args[0] : "examples/python/model.pt");
        Path outDir = Path.of(args.length > 1 ? args[1] : "target/torchscript-example");
        boolean groupsByName = !Arrays.asList(args).contains("--one-group");
        double[] losses = fineTune(modelFile, outDir, LIST_INDEX, TRAINING_STEPS, JAVA_STEPS, groupsByName);
        for (int k = 0; k < losses.length; k++) {
            System.out.printf("step %3d  loss %.12f%n", k, losses[k]);
        }
        System.out.println("saved " + outDir.resolve("model.pt") + " and " + outDir.resolve("optimizer.pt")
                + "; continue in Python: /usr/bin/python3 examples/python/continue_run.py --dir " + outDir);
    }
}
