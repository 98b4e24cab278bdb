package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.distributed.GroupSettings;
import io.github.optlist.distributed.TestPorts;
import io.github.optlist.distributed.TrainingGroup;
import io.github.optlist.distributed.ZeroRedundancyOptimizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.named_parameter_iterator;
import org.bytedeco.pytorch.named_parameter_list;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model that holds one tensor under two names (tied weights, {@code dec.weight = enc.weight}) trains: the tensor is
 * optimized once, under its first name, as Python's {@code model.parameters()} lists it, and updated once per step
 * with the gradient autograd accumulates from both uses.
 */
class TiedWeightsTest {

    /** Written by {@code scripts/python/make_tied_model.py}: a TorchScript TiedNet and Python's run of it. */
    private static final Path FIXTURE = Path.of("src/test/resources/tied-model");
    /** The binding's float32 schedule against this library's double one (see TorchScriptFineTuneTest). */
    private static final double RELATIVE_TOLERANCE = 1e-6;
    private static final ListVariant VARIANT = ListVariant.TORCH_PORT;

    @TempDir
    Path dir;

    /** What Python wrote: its run of TiedNet with TorchPortNAdamW over {@code model.parameters()}. */
    private record PythonRun(int entry, long trainingSteps, int steps, Tensor inputs, Tensor targets,
                             List<String> names, List<Double> losses, List<Tensor> finalParams) {

        static PythonRun read() {
            IValue e = PythonFixtures.load(FIXTURE.resolve("expected.pt"));
            GenericList finals = PythonFixtures.get(e, "final_params").toList();
            List<Tensor> params = new ArrayList<>();
            for (long i = 0; i < finals.size(); i++) {
                params.add(finals.get(i).toTensor());
            }
            return new PythonRun((int) PythonFixtures.get(e, "entry").toInt(),
                    PythonFixtures.get(e, "training_steps").toInt(), (int) PythonFixtures.get(e, "steps").toInt(),
                    PythonFixtures.get(e, "inputs").toTensor(), PythonFixtures.get(e, "targets").toTensor(),
                    PythonFixtures.strings(PythonFixtures.get(e, "param_names")),
                    PythonFixtures.doubles(PythonFixtures.get(e, "losses")), params);
        }

        /** Step {@code k}'s loss, before its update: the model's {@code loss} on batch {@code k % 4}. */
        Tensor loss(JitModule model, int k) {
            int batch = (int) (k % inputs.size(0));
            return model.get_method("loss").apply(new IValueVector(new IValue(inputs.select(0, batch)),
                    new IValue(targets.select(0, batch)))).toTensor();
        }

        /** Runs steps {@code [from, to)}, checking each loss against Python's. */
        void train(JitModule model, NAdamWCosineDecay opt, int from, int to) {
            for (int k = from; k < to; k++) {
                try (PointerScope scope = new PointerScope()) {
                    opt.zeroGrad();
                    Tensor loss = loss(model, k);
                    double value = loss.item_double();
                    assertEquals(losses.get(k), value, RELATIVE_TOLERANCE * Math.abs(losses.get(k)),
                            "loss of step " + k);
                    loss.backward();
                    opt.step();
                }
            }
        }
    }

    private static JitModule tiedNet() {
        return PythonFixtures.model(FIXTURE.resolve("model_init.pt"));
    }

    /** The parameter named {@code name}, as LibTorch lists it (under each of its names). */
    private static Tensor parameter(JitModule model, String name) {
        named_parameter_list list = model.named_parameters(true);
        for (named_parameter_iterator it = list.begin(); it.notEquals(list.end()); it.increment()) {
            if (it.access().name().getString().equals(name)) {
                return it.access().value();
            }
        }
        throw new AssertionError("no parameter " + name);
    }

    @Test
    void aTiedTorchScriptModelFromPythonTrainsAsPythonTrainsIt() {
        PythonRun python = PythonRun.read();
        JitModule model = tiedNet();
        Tensor tied = parameter(model, "enc.weight");
        assertEquals(TensorChecks.identity(tied), TensorChecks.identity(parameter(model, "dec.weight")),
                "the fixture's decoder weight is its encoder's");
        try (NAdamWCosineDecay opt = TestTensors.forIdx(model, python.entry(), python.trainingSteps(),
                VARIANT)) {
            assertEquals(List.of("enc.weight", "mid.weight", "mid.bias", "dec.bias"), python.names());
            assertEquals(python.names(), opt.paramGroups().get(0).names());
            python.train(model, opt, 0, python.steps());
            assertEquals(python.steps(), opt.stepCount(tied), "the tied tensor was updated once per step");
            List<Tensor> params = opt.paramGroups().get(0).params();
            for (int i = 0; i < params.size(); i++) {
                assertClose(TestTensors.values(python.finalParams().get(i)), TestTensors.values(params.get(i)),
                        1e-9, python.names().get(i));
            }
        }
    }

    @Test
    void aCheckpointOfATiedModelRoundTripsByName() throws IOException {
        PythonRun python = PythonRun.read();
        JitModule model = tiedNet();
        int handover = python.steps() / 2;
        Path file = dir.resolve("tied.ckpt");
        OptimizerState.Param saved;
        try (NAdamWCosineDecay opt = TestTensors.forIdx(model, python.entry(), python.trainingSteps(),
                VARIANT)) {
            python.train(model, opt, 0, handover);
            opt.save(file);
            saved = opt.stateDict(parameter(model, "enc.weight"));
        }
        try (NAdamWCosineDecay resumed = TestTensors.forIdx(model, python.entry(), python.trainingSteps(),
                VARIANT)) {
            resumed.load(file);
            OptimizerState.Param loaded = resumed.stateDict(parameter(model, "dec.weight"));
            assertEquals(handover, loaded.step());
            assertArrayEquals(TestTensors.values(saved.expAvg()), TestTensors.values(loaded.expAvg()));
            assertArrayEquals(TestTensors.values(saved.expAvgSq()), TestTensors.values(loaded.expAvgSq()));
            python.train(model, resumed, handover, python.steps());
        }
    }

    /** enc.weight and dec.weight are one tensor {@code w} [5, 4]; dec.bias [4]. */
    private record TiedCppModel(org.bytedeco.pytorch.Module module, Tensor w, Tensor bias) {

        static TiedCppModel create(long seed) {
            Random random = new Random(seed);
            Tensor w = TestTensors.param(TestTensors.gaussian(random, 20, 0.5), 5, 4);
            Tensor bias = TestTensors.param(TestTensors.gaussian(random, 4, 0.5), 4);
            org.bytedeco.pytorch.Module enc = new org.bytedeco.pytorch.Module();
            enc.register_parameter("weight", w);
            org.bytedeco.pytorch.Module dec = new org.bytedeco.pytorch.Module();
            dec.register_parameter("weight", w);
            dec.register_parameter("bias", bias);
            org.bytedeco.pytorch.Module model = new org.bytedeco.pytorch.Module();
            model.register_module("enc", enc);
            model.register_module("dec", dec);
            return new TiedCppModel(model, w, bias);
        }
    }

    /** {@code sum((tanh(x encoder^T) decoder + bias - target)^2)}: the encoder and decoder weights are [5, 4]. */
    private static Tensor loss(Tensor x, Tensor target, Tensor encoder, Tensor decoder, Tensor bias) {
        return x.matmul(encoder.t()).tanh().matmul(decoder).add(bias).sub(target).pow(new Scalar(2.0)).sum();
    }

    @Test
    void aCppModuleHoldingOneTensorTwiceUpdatesItOncePerStepWithTheSummedGradient() {
        int idx = 15; // Nesterov, L2 and AdamW decay, warm-up: every term of the update
        long steps = 12;
        NAdamWConfig config = OptList.config(idx, VARIANT);
        TiedCppModel tied = TiedCppModel.create(7);
        // The reference: an untied copy whose weight is one parameter of its own, given the sum of the gradients
        // of its two uses, as autograd accumulates them into the shared tensor.
        Tensor weight = TestTensors.param(TestTensors.values(tied.w()), 5, 4);
        Tensor bias = TestTensors.param(TestTensors.values(tied.bias()), 4);
        Random random = new Random(11);
        try (NAdamWCosineDecay opt = TestTensors.forIdx(tied.module(), idx, steps, VARIANT);
             NAdamWCosineDecay reference = TestTensors.optimizer(List.of(ParamGroup.of(List.of(weight, bias),
                     config)), steps, VARIANT)) {
            assertEquals(List.of("enc.weight", "dec.bias"), opt.paramGroups().get(0).names());
            for (int k = 0; k < steps; k++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor x = Tensor.create(TestTensors.gaussian(random, 12, 1.0), 3, 4);
                    Tensor target = Tensor.create(TestTensors.gaussian(random, 12, 1.0), 3, 4);
                    opt.zeroGrad();
                    loss(x, target, tied.w(), tied.w(), tied.bias()).backward();
                    opt.step();

                    Tensor encoderUse = weight.detach().clone().set_requires_grad(true);
                    Tensor decoderUse = weight.detach().clone().set_requires_grad(true);
                    reference.zeroGrad();
                    loss(x, target, encoderUse, decoderUse, bias).backward();
                    weight.mutable_grad().put(encoderUse.grad().add(decoderUse.grad()));
                    reference.step();
                }
                assertClose(TestTensors.values(weight), TestTensors.values(tied.w()), 1e-12, "weight, step " + k);
                assertClose(TestTensors.values(bias), TestTensors.values(tied.bias()), 1e-12, "bias, step " + k);
            }
            assertEquals(steps, opt.stepCount(tied.w()));
        }
    }

    @Test
    void theParameterListOfATiedModuleGivesTheTiedTensorOnceToEveryEntryTakingIt() {
        TiedCppModel tied = TiedCppModel.create(3);
        TensorVector params = tied.module().parameters();
        assertEquals(3, params.size(), "LibTorch lists the tied tensor under both names");
        NAdamWConfig entry = OptList.config(0);
        List<ListOptimizer> optimizers = List.of(TorchOptList.optimizerForIdx(params, 0, 10),
                TestTensors.optimizer(params, entry, 10), TestTensors.optimizer(params, entry, 10, VARIANT));
        for (ListOptimizer opt : optimizers) {
            try (opt) {
                List<Tensor> held = opt.paramGroups().get(0).params();
                assertEquals(List.of(TensorChecks.identity(tied.w()), TensorChecks.identity(tied.bias())),
                        held.stream().map(TensorChecks::identity).toList());
            }
        }
        ParamGroup group = ParamGroup.of(params, entry);
        assertEquals(2, group.params().size());
    }

    @Test
    void zeroOverATiedModelsParametersTakesTheTiedTensorOnce() {
        TiedCppModel tied = TiedCppModel.create(5);
        Tensor weight = TestTensors.param(TestTensors.values(tied.w()), 5, 4);
        Tensor bias = TestTensors.param(TestTensors.values(tied.bias()), 4);
        double[] grad = TestTensors.gaussian(new Random(2), 20, 1.0);
        double[] biasGrad = TestTensors.gaussian(new Random(3), 4, 1.0);
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("127.0.0.1", TestPorts.freePort(), 0, 1,
                Duration.ofSeconds(30)));
             ZeroRedundancyOptimizer zero = ZeroRedundancyOptimizer.of(group,
                     OptimizerSpec.forIdx(tied.module().parameters(), 0, 10, ListVariant.TASKSET,
                             OptimizerOptions.DEFAULTS));
             NAdamWCosineDecay single = TorchOptList.optimizerForIdx(new TensorVector(weight, bias), 0, 10)) {
            assertEquals(2, zero.paramGroups().get(0).params().size());
            TestTensors.setGrad(tied.w(), grad);
            TestTensors.setGrad(tied.bias(), biasGrad);
            zero.step();
            TestTensors.setGrad(weight, grad);
            TestTensors.setGrad(bias, biasGrad);
            single.step();
            assertArrayEquals(TestTensors.values(weight), TestTensors.values(tied.w()));
            assertArrayEquals(TestTensors.values(bias), TestTensors.values(tied.bias()));
        }
    }

    private static void assertClose(double[] expected, double[] actual, double relative, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double scale = Math.max(1.0, Math.abs(expected[i]));
            assertTrue(Math.abs(expected[i] - actual[i]) <= relative * scale,
                    what + "[" + i + "]: expected " + expected[i] + " but was " + actual[i]);
        }
    }
}
