package io.github.optlist.examples;

import io.github.optlist.examples.MlpRegressionExample.Mlp;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.TorchOptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.bytedeco.pytorch.global.torch.manual_seed;

/**
 * Checkpointing a model together with its optimizer: train 100 steps, save both, rebuild both from the files in
 * a "new process", and train the remaining 100 steps.
 *
 * <p>Run it with {@code mvn -q compile exec:java@checkpoint-example}.
 */
public final class CheckpointExample {

    static final int STEPS = 200;
    static final int LIST_INDEX = 0;

    private CheckpointExample() {
    }

    /** Saves the model's parameters and buffers with LibTorch's own archive, written aside then renamed. */
    static void saveModel(Mlp model, Path file) throws IOException {
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        OutputArchive archive = new OutputArchive();
        model.save(archive);
        archive.save_to(temporary.toString());
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static void loadModel(Mlp model, Path file) {
        InputArchive archive = new InputArchive();
        archive.load_from(file.toString());
        model.load(archive);
    }

    static void train(Mlp model, NAdamWCosineDecay optimizer, int steps) {
        for (int i = 0; i < steps; i++) {
            try (PointerScope scope = new PointerScope()) {
                optimizer.zeroGrad();
                Tensor loss = MlpRegressionExample.batchLoss(model);
                loss.backward();
                optimizer.step();
                if (optimizer.stepCount() % 25 == 0) {
                    System.out.printf("step %3d  loss %.6f%n", optimizer.stepCount(), loss.item_double());
                }
            }
        }
    }

    /** Trains, checkpoints into a temporary folder, resumes from it and finishes. */
    public static void main(String[] args) throws IOException {
        Path folder = Files.createTempDirectory("opt-list-checkpoint");
        Path modelFile = folder.resolve("model.pt");
        Path optimizerFile = folder.resolve("optimizer.ckpt");

        manual_seed(0);
        Mlp model = new Mlp();
        try (NAdamWCosineDecay optimizer = TorchOptList.optimizerForIdx(model.parameters(), LIST_INDEX, STEPS)) {
            train(model, optimizer, STEPS / 2);
            saveModel(model, modelFile);        // the parameters belong to the model...
            optimizer.save(optimizerFile);      // ...the step counts and moments to the optimizer
        }
        System.out.println("checkpoint written to " + folder);

        Mlp resumedModel = new Mlp();
        loadModel(resumedModel, modelFile);
        try (NAdamWCosineDecay resumed = TorchOptList.optimizerForIdx(resumedModel.parameters(), LIST_INDEX, STEPS)) {
            resumed.load(optimizerFile);        // refuses a file of another model, config or training length
            System.out.println("resumed at step " + resumed.stepCount() + ", learning rate " + resumed.learningRate());
            train(resumedModel, resumed, STEPS / 2);
        }
    }
}
