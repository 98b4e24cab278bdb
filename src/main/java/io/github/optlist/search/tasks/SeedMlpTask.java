package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

import java.util.Random;

import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.tanh;

/**
 * The published example's regression: an MLP 2-256-256-2 fits {@code tanh(1 / (1e-6 + x))} on a fresh batch of
 * 512 inputs {@code N(0, 1) / 4} each step. Objective: mean squared error on 4096 held-out inputs.
 */
final class SeedMlpTask implements SearchTask {

    @Override
    public String name() {
        return "seed-mlp";
    }

    @Override
    public long protocolSteps() {
        return 250;
    }

    @Override
    public String description() {
        return "the published example: MLP 2-256-256-2 fits tanh(1/(1e-6+x)), x ~ N(0,1)/4, batch 512;"
                + " objective: validation MSE on 4096 inputs";
    }

    static Tensor inputs(Random random, int n) {
        return Tensor.create(Training.gaussians(random, 2 * n, 0.25), n, 2);
    }

    static Tensor targets(Tensor x) {
        return tanh(x.add(new Scalar(1e-6)).reciprocal());
    }

    @Override
    public double run(TrialContext context) {
        Random init = new Random(context.seed());
        Random data = new Random(context.seed() + 1);
        Mlp model = new Mlp(2, 256, 256, 2);
        Training.initialize(model, init);
        Tensor validation = inputs(new Random(context.seed() + 2), 4096);
        Training.train(context, model, step -> {
            Tensor x = inputs(data, 512);
            return mse_loss(model.forward(x), targets(x));
        });
        return Training.evaluate(() -> mse_loss(model.forward(validation), targets(validation)));
    }
}
