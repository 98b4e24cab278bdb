package io.github.optlist.search.tasks;

import io.github.optlist.search.TrialContext;
import org.bytedeco.pytorch.GRUImpl;
import org.bytedeco.pytorch.GRUOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Random;

import static org.bytedeco.pytorch.global.torch.cross_entropy_loss;
import static org.bytedeco.pytorch.global.torch.one_hot;

/**
 * A character-level language model: a GRU (hidden size 32) reads one-hot characters of an 8-letter alphabet and a
 * linear head predicts the next one. The text comes from an order-2 Markov chain whose transition table is drawn
 * from the seed, peaked so that the next letter is far from uniform given the previous two (0.7 to 0.9 nats per letter
 * for seeds 0 to 2, against 2.08 for uniform letters: the floor of the objective). Minibatches of 32 sequences of 17
 * characters from 2000. Objective: cross-entropy per predicted character, in nats, on 256 held-out sequences.
 */
final class CharGruTask implements SearchTask {

    static final int ALPHABET = 8;
    /** Characters predicted per sequence; a sequence holds one more, the first one read. */
    static final int LENGTH = 16;
    static final int HIDDEN = 32;
    /** Characters generated and dropped before a sequence starts, so that it starts from the chain's usual states. */
    private static final int BURN_IN = 8;

    /** The network. */
    static final class CharModel extends org.bytedeco.pytorch.Module {
        private final GRUImpl gru;
        private final LinearImpl head;

        CharModel() {
            GRUOptions options = new GRUOptions(ALPHABET, HIDDEN);
            options.batch_first().put(true);
            gru = register_module("gru", new GRUImpl(options));
            head = register_module("head", new LinearImpl(HIDDEN, ALPHABET));
        }

        /** Next-character logits {@code [n, t, ALPHABET]} for characters {@code [n, t]} (int64). */
        Tensor forward(Tensor characters) {
            Tensor inputs = one_hot(characters, ALPHABET).to(ScalarType.Float);
            return head.forward(gru.forward(inputs).get0());
        }
    }

    @Override
    public String name() {
        return "char-gru";
    }

    @Override
    public long protocolSteps() {
        return 300;
    }

    @Override
    public String description() {
        return "character-level GRU (hidden 32) on text from an order-2 Markov chain over 8 letters, batch 32 of 2000"
                + " sequences of 17; objective: validation cross-entropy per character (nats) on 256 sequences";
    }

    /**
     * The order-2 chain: for each pair of previous letters, the cumulative distribution of the next. Each row's
     * weights are {@code exp(3 * N(0, 1))}, which leaves one to three letters likely.
     */
    static double[][] transitionTable(Random random) {
        double[][] cumulative = new double[ALPHABET * ALPHABET][ALPHABET];
        for (double[] row : cumulative) {
            double total = 0;
            for (int c = 0; c < ALPHABET; c++) {
                total += Math.exp(3 * random.nextGaussian());
                row[c] = total;
            }
            for (int c = 0; c < ALPHABET; c++) {
                row[c] /= total;
            }
        }
        return cumulative;
    }

    /** {@code n} sequences of {@code LENGTH + 1} characters drawn from the chain, as an int64 tensor. */
    static Tensor sequences(double[][] table, Random random, int n) {
        int width = LENGTH + 1;
        long[] characters = new long[n * width];
        for (int i = 0; i < n; i++) {
            int previous = random.nextInt(ALPHABET);
            int current = random.nextInt(ALPHABET);
            for (int j = -BURN_IN; j < width; j++) {
                double[] row = table[previous * ALPHABET + current];
                double u = random.nextDouble();
                int next = 0;
                while (next < ALPHABET - 1 && row[next] < u) {
                    next++;
                }
                previous = current;
                current = next;
                if (j >= 0) {
                    characters[i * width + j] = current;
                }
            }
        }
        return Tensor.create(characters, n, width);
    }

    @Override
    public double run(TrialContext context) {
        double[][] table = transitionTable(new Random(context.seed() + 2));
        Tensor[] train = {sequences(table, new Random(context.seed() + 3), 2000)};
        Tensor[] validation = {sequences(table, new Random(context.seed() + 4), 256)};
        CharModel model = new CharModel();
        return Training.fit(context, model, data -> {
            Tensor logits = model.forward(data[0].narrow(1, 0, LENGTH));
            return cross_entropy_loss(logits.reshape(-1, ALPHABET), data[0].narrow(1, 1, LENGTH).reshape(-1));
        }, train, validation, 32);
    }
}
