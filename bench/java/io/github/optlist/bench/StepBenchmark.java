package io.github.optlist.bench;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.ParamGroup;
import io.github.optlist.torch.UpdatePath;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorType;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Type;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import static org.bytedeco.pytorch.global.torch.empty_like;
import static org.bytedeco.pytorch.global.torch.get_num_threads;
import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.bytedeco.pytorch.global.torch.zeros;
import static org.bytedeco.pytorch.global.torch.zeros_like;

/**
 * Times one optimizer step on three model shapes, in one JVM and with the same float32 gradients: this project's
 * {@code step()} on its three update paths and {@code scaledStep(65536)} (the step of a loss-scaled run,
 * {@code GradScaler}'s) on the fused one, LibTorch's C++ {@code torch::optim::AdamW} (through the presets), ATen's
 * fused AdamW kernel called as {@code torch.optim.AdamW(fused=True)} calls it (through LibTorch's c10 dispatcher),
 * and the memory roofline of an Adam-type step (7 floats moved per element, timed as 7/3 of a copy of every
 * parameter, which moves 3). It uses the library's public API only, as a user's program would.
 *
 * <p>The contestants run interleaved: every round times each of them once, so a slow patch of a shared machine hits
 * them all alike. The table gives the median over rounds of each time and of each ratio taken within a round.
 *
 * <p>Run it with {@code mvn -q compile exec:exec@benchmark}. It runs once per {@link Environment} of OpenMP
 * settings, each in a child JVM, and writes the tables to {@code docs/benchmark.md}. Options: {@code --rounds N}
 * (default 41), {@code --out FILE}.
 */
public final class StepBenchmark {

    /** A model's parameter shapes. */
    record Model(String name, List<long[]> shapes) {
        long floats() {
            return shapes.stream().mapToLong(shape -> Arrays.stream(shape).reduce(1, (a, b) -> a * b)).sum();
        }

        static Model layers(String name, int count, long in, long out) {
            List<long[]> shapes = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                shapes.add(new long[]{out, in});
                shapes.add(new long[]{out});
            }
            return new Model(name, shapes);
        }
    }

    static final List<Model> MODELS = List.of(
            new Model("MLP 2-256-256-2 (6 tensors)", List.of(new long[]{256, 2}, new long[]{256},
                    new long[]{256, 256}, new long[]{256}, new long[]{2, 256}, new long[]{2})),
            Model.layers("50 layers 128×128 (100 tensors)", 50, 128, 128),
            Model.layers("8 layers 1024×1024 (16 tensors)", 8, 1024, 1024));

    /** Something that applies one optimizer step to its own copy of the parameters. */
    interface Contestant extends AutoCloseable {
        String name();

        void step();

        @Override
        void close();
    }

    /**
     * The last contestant: a copy of the parameters, reported scaled to the 7 floats per element an Adam step moves
     * (reads p, g, m, v; writes p, m, v). A copy moves 3: it reads the source, and the cache reads each line of the
     * destination before writing it back (write-allocate). The step's writes go to lines it has read anyway.
     */
    private static final String ROOFLINE = "memory roofline: parameter copy time × 7 / 3";
    private static final double FLOATS_MOVED_PER_ELEMENT = 7;
    private static final double FLOATS_COPIED_PER_ELEMENT = 3;
    /** The scaled-step contestant's label, and GradScaler's default initial scale it divides by. */
    private static final String SCALED = "opt-list scaledStep(65536)";
    private static final double LOSS_SCALE = 65536;
    /** Rows of the contestants {@link #runHere} lines up: the plain and scaled fused steps, and the baselines. */
    private static final int PLAIN_ROW = 0;
    private static final int SCALED_ROW = 3;
    private static final int ADAMW_ROW = 7;
    private static final int FUSED_KERNEL_ROW = 8;

    private final List<Tensor> initialParams = new ArrayList<>();
    private final List<Tensor> grads = new ArrayList<>();

    private StepBenchmark(Model model) {
        manual_seed(42);
        for (long[] shape : model.shapes()) {
            initialParams.add(outliveScope(randn(shape).mul_(new Scalar(0.05))));
            grads.add(outliveScope(randn(shape).mul_(new Scalar(0.01))));
        }
    }

    /** Fresh copies of the parameters, each with its gradient set. */
    private List<Tensor> paramsWithGradients() {
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; i < initialParams.size(); i++) {
            Tensor param = outliveScope(initialParams.get(i).clone().set_requires_grad(true));
            param.mutable_grad().put(grads.get(i));
            params.add(param);
        }
        return params;
    }

    private Contestant optList(String label, int index, UpdatePath path) {
        // TORCH_PORT, the variant that applies the entries' Nesterov flag, so the Nesterov contestants run Nesterov.
        NAdamWConfig config = OptList.config(index, ListVariant.TORCH_PORT);
        NAdamWCosineDecay optimizer = NAdamWCosineDecay.of(new OptimizerSpec(
                List.of(ParamGroup.of(paramsWithGradients(), config)), 1_000_000_000L, ListVariant.TORCH_PORT,
                        OptimizerOptions.DEFAULTS.withUpdatePath(path)));
        return contestant(label + " #" + index + ", " + pathName(path), optimizer::step, optimizer::close);
    }

    /**
     * {@code scaledStep(65536)} on the fused path, as {@code GradScaler.step} runs it: the non-finite check, then the
     * update dividing the gradients by the scale inside the kernel. The kernel stores the divided gradients back, so
     * every other step passes the reciprocal 2^-16 instead, which restores them exactly (a power of two) at the same
     * cost; without it the gradients would sink into subnormals, which are slow, within a few steps.
     */
    private Contestant scaledStep(int index) {
        NAdamWConfig config = OptList.config(index, ListVariant.TORCH_PORT);
        NAdamWCosineDecay optimizer = NAdamWCosineDecay.of(new OptimizerSpec(
                List.of(ParamGroup.of(paramsWithGradients(), config)), 1_000_000_000L, ListVariant.TORCH_PORT,
                        OptimizerOptions.DEFAULTS));
        boolean[] divided = {false};
        return contestant(SCALED + " #" + index + ", " + pathName(UpdatePath.FUSED), () -> {
            if (!optimizer.scaledStep(divided[0] ? 1 / LOSS_SCALE : LOSS_SCALE)) {
                throw new IllegalStateException("scaledStep skipped a step of finite gradients");
            }
            divided[0] = !divided[0];
        }, optimizer::close);
    }

    private Contestant libtorchAdamW() {
        TensorVector params = new TensorVector(paramsWithGradients().toArray(new Tensor[0]));
        AdamWOptions options = new AdamWOptions(1e-3);
        options.weight_decay().put(0.01);
        AdamW adamW = new AdamW(params, options);
        return contestant("LibTorch C++ AdamW", adamW::step, adamW::close);
    }

    /** The kernel as torch.optim.AdamW(fused=True) drives it: float32 step tensors incremented, then one call. */
    private Contestant fusedAdamWKernel() {
        List<Tensor> params = paramsWithGradients();
        List<Tensor> expAvgs = new ArrayList<>();
        List<Tensor> expAvgSqs = new ArrayList<>();
        List<Tensor> steps = new ArrayList<>();
        for (Tensor param : params) {
            expAvgs.add(zeros_like(param));
            expAvgSqs.add(zeros_like(param));
            steps.add(zeros(new long[0], new TensorOptions(ScalarType.Float)));
        }
        // ATen's own operators, not mapped by the presets: reached through the c10 dispatcher with boxed calls.
        OperatorHandle addScalar = outliveScope(Dispatcher.singleton().findSchemaOrThrow("aten::_foreach_add_",
                "Scalar"));
        OperatorHandle fusedAdamW = outliveScope(Dispatcher.singleton().findSchemaOrThrow("aten::_fused_adamw_", ""));
        IValue p = outliveScope(tensorList(params));
        IValue g = outliveScope(tensorList(grads));
        IValue m = outliveScope(tensorList(expAvgs));
        IValue v = outliveScope(tensorList(expAvgSqs));
        IValue s = outliveScope(tensorList(steps));
        IValue none = outliveScope(new IValue());
        return contestant("ATen fused AdamW kernel", () -> {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                addScalar.callBoxed(new IValueVector(s, new IValue(1.0)));
                // _fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, lr, beta1,
                // beta2, weight_decay, eps, amsgrad, maximize, grad_scale, found_inf)
                fusedAdamW.callBoxed(new IValueVector(p, g, m, v, tensorList(List.of()), s, new IValue(1e-3),
                        new IValue(0.9), new IValue(0.999), new IValue(0.01), new IValue(1e-8), new IValue(false),
                        new IValue(false), none, none));
            }
        }, () -> { });
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

    /** Copies every parameter into a buffer of its own, for the memory roofline. */
    private Contestant parameterCopy() {
        List<Tensor> sources = paramsWithGradients();
        List<Tensor> targets = new ArrayList<>();
        sources.forEach(source -> targets.add(outliveScope(empty_like(source))));
        return contestant(ROOFLINE, () -> {
            for (int i = 0; i < sources.size(); i++) {
                targets.get(i).copy_(sources.get(i));
            }
        }, () -> { });
    }

    /**
     * Keeps {@code pointer} alive when the innermost open scope, if any, closes: the contestants' tensors live for
     * the whole benchmark.
     */
    private static <P extends Pointer> P outliveScope(P pointer) {
        if (PointerScope.getInnerScope() != null) {
            pointer.retainReference();
        }
        return pointer;
    }

    private static Contestant contestant(String name, Runnable step, Runnable close) {
        return new Contestant() {
            public String name() {
                return name;
            }

            public void step() {
                step.run();
            }

            public void close() {
                close.run();
            }
        };
    }

    private static String pathName(UpdatePath path) {
        return path.name().toLowerCase(Locale.ROOT).replace('_', '-') + " path";
    }

    /** The first list entry of a kind. */
    private static int firstIndex(Predicate<NAdamWConfig> kind) {
        for (int i = 0; i < OptList.size(); i++) {
            if (kind.test(OptList.config(i))) {
                return i;
            }
        }
        throw new IllegalStateException("no list entry of that kind");
    }

    /**
     * Median seconds per step of each contestant, medians of the per-round ratios to two baselines, and the seconds
     * of every round ({@code [contestant][round]}).
     */
    record Result(List<String> names, double[] medianSeconds, double[] ratioToAdamW, double[] ratioToFused,
                  double[][] seconds) {

        /** The median over rounds of contestant {@code c}'s time over contestant {@code baseline}'s. */
        double ratio(int c, int baseline) {
            double[] ratios = new double[seconds[c].length];
            for (int r = 0; r < ratios.length; r++) {
                ratios[r] = seconds[c][r] / seconds[baseline][r];
            }
            return median(ratios);
        }
    }

    private static Result time(List<Contestant> contestants, int adamW, int fused, int stepsPerSample, int rounds,
                               int warmupRounds) {
        int n = contestants.size();
        double[][] seconds = new double[n][rounds];
        for (int round = -warmupRounds; round < rounds; round++) {
            for (int c = 0; c < n; c++) {
                double perStep = sample(contestants.get(c), stepsPerSample);
                if (round >= 0) {
                    seconds[c][round] = perStep;
                }
            }
        }
        double[] median = new double[n];
        double[] toAdamW = new double[n];
        double[] toFused = new double[n];
        for (int c = 0; c < n; c++) {
            median[c] = median(seconds[c]);
            double[] a = new double[rounds];
            double[] f = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                a[r] = seconds[c][r] / seconds[adamW][r];
                f[r] = seconds[c][r] / seconds[fused][r];
            }
            toAdamW[c] = median(a);
            toFused[c] = median(f);
        }
        return new Result(contestants.stream().map(Contestant::name).toList(), median, toAdamW, toFused, seconds);
    }

    private static double sample(Contestant contestant, int steps) {
        try (PointerScope scope = new PointerScope()) {
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                contestant.step();
            }
            return (System.nanoTime() - start) / 1e9 / steps;
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /** The thread settings the benchmark runs under, each in its own JVM: OpenMP reads them at start-up. */
    enum Environment {
        LIBTORCH_DEFAULTS("LibTorch's defaults: OpenMP threads spin while idle, one per core", Map.of()),
        PASSIVE("OMP_WAIT_POLICY=PASSIVE, as bin/opt-list and the tests set it", Map.of("OMP_WAIT_POLICY", "PASSIVE")),
        PASSIVE_ONE_THREAD("OMP_WAIT_POLICY=PASSIVE and OMP_NUM_THREADS=1",
                Map.of("OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", "1"));

        final String description;
        final Map<String, String> variables;

        Environment(String description, Map<String, String> variables) {
            this.description = description;
            this.variables = variables;
        }
    }

    /**
     * Without {@code --environment}, runs the benchmark once per {@link Environment} in a child JVM and writes their
     * tables to {@code --out}; with it, times the contestants in this JVM and prints one table.
     */
    public static void main(String[] args) throws IOException, InterruptedException {
        int rounds = 41;
        Path out = Path.of("docs/benchmark.md");
        Environment environment = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--environment" -> environment = Environment.valueOf(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; options: --rounds N, --out FILE, --environment " + Arrays.toString(Environment.values()));
            }
        }
        if (environment != null) {
            System.out.print(runHere(environment, rounds));
            return;
        }
        StringBuilder report = new StringBuilder("# Step benchmark\n\n").append(machine()).append("\n\n");
        report.append("Command: `mvn -q compile exec:exec@benchmark`. Each table is the median of ").append(rounds)
                .append(" interleaved rounds: µs per step, and in brackets the median ratio, within a round, to")
                .append(" LibTorch's C++ AdamW / to ATen's fused AdamW kernel.\n");
        for (Environment env : Environment.values()) {
            System.err.println("== " + env.description);
            report.append("\n## ").append(env.description).append("\n\n").append(runChild(env, rounds));
        }
        System.out.print(report);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, report);
        System.err.println("written to " + out);
    }

    private static String runChild(Environment environment, int rounds) throws IOException, InterruptedException {
        Path javaCommand = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(javaCommand.toString(), "-Xms1g", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), StepBenchmark.class.getName(),
                "--environment", environment.name(), "--rounds", Integer.toString(rounds));
        builder.environment().remove("OMP_WAIT_POLICY");
        builder.environment().remove("OMP_NUM_THREADS");
        builder.environment().putAll(environment.variables);
        builder.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process child = builder.start();
        String table = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (child.waitFor() != 0) {
            throw new IllegalStateException("the benchmark under " + environment + " failed");
        }
        return table;
    }

    private static String runHere(Environment environment, int rounds) {
        int nonNesterov = firstIndex(c -> !c.useNesterov());
        int nesterov = firstIndex(NAdamWConfig::useNesterov);
        int nesterovWithBothDecays = firstIndex(c -> c.useNesterov() && c.l2WeightDecay() > 0
                && c.adamwWeightDecay() > 0);
        List<Result> results = new ArrayList<>();
        for (Model model : MODELS) {
            System.err.println("timing " + model.name() + " ...");
            StepBenchmark bench = new StepBenchmark(model);
            List<Contestant> contestants = List.of(
                    bench.optList("opt-list", nonNesterov, UpdatePath.FUSED),
                    bench.optList("opt-list Nesterov", nesterov, UpdatePath.FUSED),
                    bench.optList("opt-list Nesterov + L2 + decay", nesterovWithBothDecays, UpdatePath.FUSED),
                    bench.scaledStep(nonNesterov),
                    bench.optList("opt-list", nonNesterov, UpdatePath.MULTI_TENSOR),
                    bench.optList("opt-list Nesterov", nesterov, UpdatePath.MULTI_TENSOR),
                    bench.optList("opt-list", nonNesterov, UpdatePath.SINGLE_TENSOR),
                    bench.libtorchAdamW(),
                    bench.fusedAdamWKernel(),
                    bench.parameterCopy());
            int stepsPerSample = (int) Math.max(2, Math.min(200, 2_000_000 / model.floats()));
            results.add(time(contestants, ADAMW_ROW, FUSED_KERNEL_ROW, stepsPerSample, rounds,
                    Math.max(3, rounds / 8)));
            contestants.forEach(Contestant::close);
        }
        return table(results) + "\n" + lossScaling(results) + "\n\n" + targets(results) + "\n\n" + threads() + "\n";
    }

    /** The cost of loss scaling: the scaled step's time over the plain fused step's, the same entry and model. */
    private static String lossScaling(List<Result> results) {
        StringBuilder line = new StringBuilder("Loss scaling: `scaledStep(65536)` / `step()` on the fused path (median"
                + " of the per-round ratios; one more pass over the gradients, the non-finite check, is the goal):");
        for (int m = 0; m < MODELS.size(); m++) {
            line.append(String.format(Locale.ROOT, "%s %s %.2f×", m == 0 ? "" : ";", MODELS.get(m).name(),
                    results.get(m).ratio(SCALED_ROW, PLAIN_ROW)));
        }
        return line.append('.').toString();
    }

    /** The issue's targets for the first two rows, the default path on a non-Nesterov and a Nesterov entry. */
    private static String targets(List<Result> results) {
        List<String> missed = new ArrayList<>();
        for (int row = 0; row < 2; row++) {
            for (int m = 0; m < MODELS.size(); m++) {
                Result result = results.get(m);
                if (result.ratioToAdamW()[row] > 1.0) {
                    missed.add(String.format(Locale.ROOT, "%s on %s: %.2f× AdamW", result.names().get(row),
                            MODELS.get(m).name(), result.ratioToAdamW()[row]));
                }
            }
            Result largest = results.get(MODELS.size() - 1);
            if (largest.ratioToFused()[row] > 2.0) {
                missed.add(String.format(Locale.ROOT, "%s on %s: %.2f× the fused kernel", largest.names().get(row),
                        MODELS.get(MODELS.size() - 1).name(), largest.ratioToFused()[row]));
            }
        }
        return "Targets (first two rows: at most 1.0× AdamW on every model, at most 2.0× the fused kernel on the "
                + "largest): " + (missed.isEmpty() ? "met." : "missed: " + String.join("; ", missed) + ".");
    }

    private static String table(List<Result> results) {
        StringBuilder md = new StringBuilder();
        md.append("| contestant |");
        MODELS.forEach(model -> md.append(' ').append(model.name()).append(" |"));
        md.append("\n|---|");
        MODELS.forEach(model -> md.append("---|"));
        md.append('\n');
        List<String> names = results.get(0).names();
        for (int c = 0; c < names.size(); c++) {
            double scale = names.get(c).equals(ROOFLINE) ? FLOATS_MOVED_PER_ELEMENT / FLOATS_COPIED_PER_ELEMENT : 1;
            md.append("| ").append(names.get(c)).append(" |");
            for (Result result : results) {
                md.append(String.format(Locale.ROOT, " %.0f (%.2f× / %.2f×) |",
                        result.medianSeconds()[c] * scale * 1e6, result.ratioToAdamW()[c] * scale,
                        result.ratioToFused()[c] * scale));
            }
            md.append('\n');
        }
        return md.toString();
    }

    private static String threads() {
        return String.format(Locale.ROOT, "LibTorch intra-op threads: %d; OMP_WAIT_POLICY=%s.", get_num_threads(),
                System.getenv().getOrDefault("OMP_WAIT_POLICY", "unset"));
    }

    private static String machine() {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (IOException | RuntimeException unreadable) {
            // not Linux: the CPU stays unnamed
        }
        return String.format(Locale.ROOT, "Measured %s on %s, %d logical cores, Java %s, %s %s, bytedeco pytorch "
                        + "presets %s; float32 parameters and gradients, the same in every contestant.",
                LocalDate.now(), cpu, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                System.getProperty("os.name"), System.getProperty("os.arch"),
                Optional.ofNullable(Tensor.class.getPackage().getImplementationVersion()).orElse("(version unknown)"));
    }
}
