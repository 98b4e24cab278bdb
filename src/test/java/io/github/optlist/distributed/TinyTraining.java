package io.github.optlist.distributed;

import io.github.optlist.ListVariant;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.bytedeco.pytorch.global.torch.tanh;

/**
 * The tiny regression the distributed tests train: an MLP 3-8-2 on a fixed batch of 12 rows per step, the same for
 * one process and for the ranks, which each take their contiguous slice of every batch
 * (12 rows: equal slices for 1, 2, 3 or 4 ranks, so that the average of the slices' mean losses is the batch's).
 */
final class TinyTraining {

    static final int BATCH = 12;

    private TinyTraining() {
    }

    /** The model: two linear layers with a tanh; {@code hidden} differs only in the bad-input test. */
    static final class Mlp extends org.bytedeco.pytorch.Module {
        final LinearImpl fc1;
        final LinearImpl fc2;

        Mlp(long seed, int hidden) {
            manual_seed(seed);
            fc1 = register_module("fc1", new LinearImpl(3, hidden));
            fc2 = register_module("fc2", new LinearImpl(hidden, 2));
        }

        Tensor forward(Tensor x) {
            return fc2.forward(tanh(fc1.forward(x)));
        }
    }

    /** Step {@code k}'s loss over rows {@code [from, to)} of its batch; the mean, as one process over all rows. */
    static Tensor loss(Mlp model, int k, int from, int to) {
        return loss(model, k, from, to, null);
    }

    /** As above with the batch moved to {@code device} (null: stay on the CPU). */
    static Tensor loss(Mlp model, int k, int from, int to, org.bytedeco.pytorch.Device device) {
        manual_seed(1000 + k);
        Tensor x = randn(BATCH, 3);
        Tensor y = randn(BATCH, 2);
        if (device != null) {
            x = x.to(device, x.scalar_type());
            y = y.to(device, y.scalar_type());
        }
        return mse_loss(model.forward(x.narrow(0, from, to - from)), y.narrow(0, from, to - from));
    }

    /** Step {@code k}'s loss over its whole batch, the batch and model in {@code dtype} (e.g. float16). */
    static Tensor lossIn(Mlp model, int k, org.bytedeco.pytorch.global.torch.ScalarType dtype) {
        manual_seed(1000 + k);
        Tensor x = randn(BATCH, 3).to(dtype);
        Tensor y = randn(BATCH, 2).to(dtype);
        return mse_loss(model.forward(x), y);
    }

    /** A fresh model from seed 1 in {@code dtype}. */
    static Mlp mlpIn(org.bytedeco.pytorch.global.torch.ScalarType dtype) {
        Mlp model = new Mlp(1, 8);
        model.to(dtype, false);
        return model;
    }

    /** Rank {@code rank}'s rows of a batch split over {@code world} ranks. */
    static int[] rows(int rank, int world) {
        return new int[]{rank * BATCH / world, (rank + 1) * BATCH / world};
    }

    /** Trains one process on whole batches for steps {@code [from, to)}. */
    static void trainSingle(Mlp model, NAdamWCosineDecay opt, int from, int to) {
        for (int k = from; k < to; k++) {
            try (PointerScope scope = new PointerScope()) {
                opt.zeroGrad();
                loss(model, k, 0, BATCH).backward();
                opt.step();
            }
        }
    }

    /** The single-process reference: a fresh model from seed 1, entry {@code idx}, {@code steps} steps. */
    static double[] singleProcess(int idx, ListVariant variant, int steps, int totalSteps) {
        Mlp model = new Mlp(1, 8);
        try (NAdamWCosineDecay opt = NAdamWCosineDecay.of(OptimizerSpec.forIdx(model.parameters(), idx, totalSteps,
                variant, OptimizerOptions.DEFAULTS))) {
            trainSingle(model, opt, 0, steps);
        }
        return values(model.parameters());
    }

    /** Every parameter's values, flattened in order. */
    static double[] values(TensorVector params) {
        List<Double> out = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {
            for (long i = 0; i < params.size(); i++) {
                // To the host first: a CUDA tensor's data pointer is device memory, not readable from here.
                Tensor flat = params.get(i).detach().cpu().to(org.bytedeco.pytorch.global.torch.ScalarType.Double)
                        .flatten().contiguous();
                double[] values = new double[(int) flat.numel()];
                flat.data_ptr_double().get(values);
                for (double v : values) {
                    out.add(v);
                }
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The list entry and training length of the non-contiguous ZeRO-1 checkpoint case. */
    static final io.github.optlist.NAdamWConfig NONCONTIGUOUS_CONFIG = io.github.optlist.OptList.config(0);
    static final long NONCONTIGUOUS_STEPS = 10;

    /** {@code offset + [0, rows * cols)} laid out rows by cols, transposed: a cols-by-rows non-contiguous view. */
    static Tensor noncontiguous(double offset, int rows, int cols) {
        double[] values = new double[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = offset + i;
        }
        Tensor t = Tensor.create(values, rows, cols).t();
        if (t.is_contiguous()) {
            throw new IllegalStateException("the transposed view is contiguous");
        }
        return t;
    }

    /**
     * Two float32 leaf parameters: 6 contiguous elements (owned by rank 0 of two under ZeRO-1's partition, the
     * largest first) and a transposed 2-by-2 one (rank 1's).
     */
    static List<Tensor> noncontiguousParams() {
        Tensor big = Tensor.create(new float[]{1, 2, 3, 4, 5, 6}, 6).set_requires_grad(true);
        Tensor small = noncontiguous(-2, 2, 2).to(org.bytedeco.pytorch.global.torch.ScalarType.Float).detach()
                .set_requires_grad(true);
        return List.of(big, small);
    }

    /** Gradients that differ per element, so that a permuted moment shows. */
    static void setNoncontiguousGrads(List<Tensor> params) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (Tensor p : params) {
                p.mutable_grad().put(p.detach().mul(new org.bytedeco.pytorch.Scalar(0.5))
                        .add(new org.bytedeco.pytorch.Scalar(0.25)));
            }
        }
    }

    /** Writes values one per line, exactly. */
    static void write(Path file, double[] values) throws IOException {
        StringBuilder text = new StringBuilder();
        for (double v : values) {
            text.append(v).append('\n');
        }
        Files.writeString(file, text);
    }

    static double[] read(Path file) throws IOException {
        return Files.readAllLines(file).stream().filter(s -> !s.isBlank()).mapToDouble(Double::parseDouble).toArray();
    }

    /** Overwrites the model's parameters with {@code values} (as written by {@link #write}). */
    static void assign(TensorVector params, double[] values) {
        int at = 0;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (long i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                int n = (int) p.numel();
                double[] part = java.util.Arrays.copyOfRange(values, at, at + n);
                Tensor source = org.bytedeco.pytorch.global.torch.from_blob(
                        new org.bytedeco.javacpp.DoublePointer(part), new long[]{n},
                        new org.bytedeco.pytorch.TensorOptions(org.bytedeco.pytorch.global.torch.ScalarType.Double))
                        .clone().view(p.shape());
                p.copy_(source);
                at += n;
            }
        }
    }
}
