package io.github.optlist.bench.jmh;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.ParamGroup;
import io.github.optlist.torch.UpdatePath;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorType;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Type;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

import static org.bytedeco.pytorch.global.torch.empty_like;
import static org.bytedeco.pytorch.global.torch.zeros;
import static org.bytedeco.pytorch.global.torch.zeros_like;

/**
 * What the step benchmark times, one {@code @Param} of {@link StepBenchmark} and one row of the ratio tables: this
 * project's {@code step()} on its three update paths and on entries of each kind, {@code scaledStep(65536)} (the step
 * of a loss-scaled run), LibTorch's C++ {@code torch::optim::AdamW}, ATen's fused AdamW kernel called with prebuilt
 * argument lists (the baseline of the ratios), and a copy of the parameters (the memory roofline). The optimizers
 * are reached through the library's public API only, as a user's program would.
 */
public enum Contestant {
    /** {@code step()} with the default options (the fused path) on the first plain entry. */
    FUSED(Entry.PLAIN, UpdatePath.FUSED),
    /** The same on the first entry with an L2 term and no decoupled decay. */
    FUSED_L2(Entry.L2, UpdatePath.FUSED),
    /** The same on the first entry with an L2 term and decoupled decay: one pass more than the kernel. */
    FUSED_L2_DECAY(Entry.L2_DECAY, UpdatePath.FUSED),
    /** The same on the first Nesterov entry, run with Nesterov: one pass more than the kernel. */
    FUSED_NESTEROV(Entry.NESTEROV, UpdatePath.FUSED),
    /** The same on the first Nesterov entry with an L2 term and decoupled decay: the slowest kind. */
    FUSED_NESTEROV_L2_DECAY(Entry.NESTEROV_L2_DECAY, UpdatePath.FUSED),
    /** {@code scaledStep(65536)} on the first plain entry, as {@code GradScaler.step} runs it. */
    FUSED_SCALED(Entry.PLAIN, UpdatePath.FUSED),
    /** {@code step()} on the multi-tensor path, first plain entry. */
    MULTI_TENSOR(Entry.PLAIN, UpdatePath.MULTI_TENSOR),
    /** {@code step()} on the multi-tensor path, first Nesterov entry. */
    MULTI_TENSOR_NESTEROV(Entry.NESTEROV, UpdatePath.MULTI_TENSOR),
    /** {@code step()} on the single-tensor path, first plain entry. */
    SINGLE_TENSOR(Entry.PLAIN, UpdatePath.SINGLE_TENSOR),
    /** LibTorch's C++ AdamW through the presets (lr 1e-3, weight decay 0.01). */
    LIBTORCH_ADAMW(null, null),
    /** ATen's {@code _fused_adamw_} as {@code torch.optim.AdamW(fused=True)} drives it: the ratios' baseline. */
    ATEN_FUSED_KERNEL(null, null),
    /**
     * A copy of every parameter into a buffer of its own, in one {@code _foreach_copy_}. An Adam step moves 7 floats
     * per element (reads p, g, m, v; writes p, m, v), a copy moves 3 (the cache reads each destination line before
     * writing it), so the tables report this time times 7 / 3 as the memory roofline.
     */
    PARAMETER_COPY(null, null);

    /** The loss scale of {@link #FUSED_SCALED}: {@code GradScaler}'s default initial scale. */
    static final double LOSS_SCALE = 65536;
    /** How much more an Adam step moves than {@link #PARAMETER_COPY}. */
    static final double ROOFLINE_SCALE = 7.0 / 3.0;

    private final Entry entry;
    private final UpdatePath path;

    Contestant(Entry entry, UpdatePath path) {
        this.entry = entry;
        this.path = path;
    }

    /** One step on the contestant's own parameters; {@link #close} releases what the contestant holds. */
    interface Step extends AutoCloseable {
        /** Applies one step. */
        void run();

        @Override
        default void close() {
        }
    }

    /** The row label in the ratio tables, e.g. "opt-list Nesterov #1, fused path". */
    public String label() {
        return switch (this) {
            case LIBTORCH_ADAMW -> "LibTorch C++ AdamW";
            case ATEN_FUSED_KERNEL -> "ATen fused AdamW kernel";
            case PARAMETER_COPY -> "memory roofline: parameter copy time × 7 / 3";
            case FUSED_SCALED -> "opt-list scaledStep(65536) #" + entry.index() + ", " + pathName(path);
            default -> "opt-list" + entry.label + " #" + entry.index() + ", " + pathName(path);
        };
    }

    /** Builds this contestant on fresh copies of {@code model}'s parameters, each with its gradient set. */
    Step start(ModelTensors model) {
        return switch (this) {
            case LIBTORCH_ADAMW -> libtorchAdamW(model);
            case ATEN_FUSED_KERNEL -> fusedAdamWKernel(model);
            case PARAMETER_COPY -> parameterCopy(model);
            case FUSED_SCALED -> scaledStep(model);
            default -> {
                NAdamWCosineDecay optimizer = optimizer(model);
                yield step(optimizer::step, optimizer);
            }
        };
    }

    /**
     * The optimizer on {@link #entry} and {@link #path}. TORCH_PORT is the variant that applies an entry's Nesterov
     * flag, so the Nesterov contestants run Nesterov; a training run of a billion steps keeps the rate away from 0.
     */
    private NAdamWCosineDecay optimizer(ModelTensors model) {
        NAdamWConfig config = OptList.config(entry.index(), ListVariant.TORCH_PORT);
        return NAdamWCosineDecay.of(new OptimizerSpec(List.of(ParamGroup.of(model.paramsWithGradients(), config)),
                1_000_000_000L, ListVariant.TORCH_PORT, OptimizerOptions.DEFAULTS.withUpdatePath(path)));
    }

    /**
     * {@code scaledStep(65536)}: the non-finite check, then the update dividing the gradients by the scale inside
     * the kernel. The kernel stores the divided gradients back, so every other step passes the reciprocal 2^-16
     * instead, which restores them exactly (a power of two) at the same cost; without it the gradients would sink
     * into subnormals, which are slow, within a few steps.
     */
    private Step scaledStep(ModelTensors model) {
        NAdamWCosineDecay optimizer = optimizer(model);
        boolean[] divided = {false};
        return step(() -> {
            if (!optimizer.scaledStep(divided[0] ? 1 / LOSS_SCALE : LOSS_SCALE)) {
                throw new IllegalStateException("scaledStep skipped a step of finite gradients");
            }
            divided[0] = !divided[0];
        }, optimizer);
    }

    private static Step libtorchAdamW(ModelTensors model) {
        TensorVector params = new TensorVector(model.paramsWithGradients().toArray(new Tensor[0]));
        AdamWOptions options = new AdamWOptions(1e-3);
        options.weight_decay().put(0.01);
        AdamW adamW = new AdamW(params, options);
        return step(adamW::step, adamW::close);
    }

    /**
     * The kernel as {@code torch.optim.AdamW(fused=True)} drives it: float32 step tensors incremented with
     * {@code _foreach_add_}, then one {@code _fused_adamw_} call. Every argument is boxed once, here; a step copies
     * the prebuilt argument list onto the call's stack (a boxed call consumes its stack) and calls, making no native
     * object (each costs JavaCPP microseconds to make and free). ATen's own operators are not mapped by the presets:
     * they are reached through the c10 dispatcher.
     */
    private static Step fusedAdamWKernel(ModelTensors model) {
        List<Tensor> params = model.paramsWithGradients();
        List<Tensor> expAvgs = new ArrayList<>();
        List<Tensor> expAvgSqs = new ArrayList<>();
        List<Tensor> steps = new ArrayList<>();
        for (Tensor param : params) {
            expAvgs.add(zeros_like(param));
            expAvgSqs.add(zeros_like(param));
            steps.add(zeros(new long[0], new TensorOptions(ScalarType.Float)));
        }
        OperatorHandle addScalar = Dispatcher.singleton().findSchemaOrThrow("aten::_foreach_add_", "Scalar");
        OperatorHandle fusedAdamW = Dispatcher.singleton().findSchemaOrThrow("aten::_fused_adamw_", "");
        IValue stepTensors = tensorList(steps);
        IValue none = new IValue();
        IValueVector addArguments = new IValueVector(stepTensors, new IValue(1.0));
        // _fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, lr, beta1, beta2,
        // weight_decay, eps, amsgrad, maximize, grad_scale, found_inf)
        IValueVector adamWArguments = new IValueVector(tensorList(params), tensorList(model.grads()),
                tensorList(expAvgs), tensorList(expAvgSqs), tensorList(List.of()), stepTensors, new IValue(1e-3),
                new IValue(0.9), new IValue(0.999), new IValue(0.01), new IValue(1e-8), new IValue(false),
                new IValue(false), none, none);
        IValueVector stack = new IValueVector();
        // GradMode rather than a NoGradGuard, which is a native object to make and free at every step.
        return () -> {
            boolean gradEnabled = GradMode.is_enabled();
            GradMode.set_enabled(false);
            try {
                addScalar.callBoxed(stack.put(addArguments));
                fusedAdamW.callBoxed(stack.put(adamWArguments));
            } finally {
                GradMode.set_enabled(gradEnabled);
            }
        };
    }

    /** A {@code Tensor[]} argument of a boxed call. */
    private static IValue tensorList(List<Tensor> tensors) {
        GenericList list = new GenericList(new Type.TypePtr(TensorType.get()));
        list.reserve(tensors.size());
        for (Tensor tensor : tensors) {
            list.push_back(new IValue(tensor));
        }
        return new IValue(list);
    }

    /**
     * One {@code _foreach_copy_} of every parameter, called as the kernel is, with prebuilt argument lists. The
     * tensors do not require gradients, so that the copy records no autograd history.
     */
    private static Step parameterCopy(ModelTensors model) {
        List<Tensor> sources = model.initialParams().stream().map(Tensor::clone).toList();
        List<Tensor> targets = sources.stream().map(source -> empty_like(source)).toList();
        OperatorHandle foreachCopy = Dispatcher.singleton().findSchemaOrThrow("aten::_foreach_copy_", "");
        // _foreach_copy_(self, src, non_blocking)
        IValueVector arguments = new IValueVector(tensorList(targets), tensorList(sources), new IValue(false));
        IValueVector stack = new IValueVector();
        return () -> foreachCopy.callBoxed(stack.put(arguments));
    }

    private static Step step(Runnable step, AutoCloseable resources) {
        return new Step() {
            @Override
            public void run() {
                step.run();
            }

            @Override
            public void close() {
                try {
                    resources.close();
                } catch (Exception e) {
                    throw new IllegalStateException("could not close a contestant", e);
                }
            }
        };
    }

    private static String pathName(UpdatePath path) {
        return path.name().toLowerCase(Locale.ROOT).replace('_', '-') + " path";
    }

    /** The kinds of list entry the contestants step with: each costs the fused path a different number of passes. */
    enum Entry {
        PLAIN("", c -> !c.useNesterov() && c.l2WeightDecay() == 0),
        L2(" L2", c -> !c.useNesterov() && c.l2WeightDecay() > 0 && c.adamwWeightDecay() == 0),
        L2_DECAY(" L2 + decay", c -> !c.useNesterov() && c.l2WeightDecay() > 0 && c.adamwWeightDecay() > 0),
        NESTEROV(" Nesterov", c -> c.useNesterov() && c.l2WeightDecay() == 0),
        NESTEROV_L2_DECAY(" Nesterov + L2 + decay",
                c -> c.useNesterov() && c.l2WeightDecay() > 0 && c.adamwWeightDecay() > 0);

        private final String label;
        private final Predicate<NAdamWConfig> kind;

        Entry(String label, Predicate<NAdamWConfig> kind) {
            this.label = label;
            this.kind = kind;
        }

        /** The first list entry of this kind. */
        int index() {
            for (int i = 0; i < OptList.size(); i++) {
                if (kind.test(OptList.config(i))) {
                    return i;
                }
            }
            throw new IllegalStateException("no list entry of kind " + this);
        }
    }
}
