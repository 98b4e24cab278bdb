package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NamedParametersTest {

    /** fc1 (4 -> 3), norm (LayerNorm over 3), fc2 (3 -> 2): six parameters in registration order. */
    private static org.bytedeco.pytorch.Module mlp() {
        org.bytedeco.pytorch.Module model = new org.bytedeco.pytorch.Module();
        model.register_module("fc1", new LinearImpl(4, 3));
        model.register_module("norm", new LayerNormImpl(new LongVector(new long[]{3})));
        model.register_module("fc2", new LinearImpl(3, 2));
        return model;
    }

    @Test
    void aCppModuleGivesItsTrainableParametersInRegistrationOrderWithTheirNames() {
        NamedParameters params = NamedParameters.of(mlp());
        assertEquals(List.of("fc1.weight", "fc1.bias", "norm.weight", "norm.bias", "fc2.weight", "fc2.bias"),
                params.names());
        assertEquals(List.of(3L, 4L), List.of(params.entries().get(0).tensor().size(0),
                params.entries().get(0).tensor().size(1)));
    }

    /** enc.weight and dec.weight one tensor, dec.bias; {@code alias} registered as other.weight if not null. */
    private static org.bytedeco.pytorch.Module tied(Tensor weight, Tensor alias) {
        org.bytedeco.pytorch.Module enc = new org.bytedeco.pytorch.Module();
        enc.register_parameter("weight", weight);
        org.bytedeco.pytorch.Module dec = new org.bytedeco.pytorch.Module();
        dec.register_parameter("weight", weight);
        dec.register_parameter("bias", TestTensors.param(new double[]{1, 2}, 2));
        org.bytedeco.pytorch.Module model = new org.bytedeco.pytorch.Module();
        model.register_module("enc", enc);
        model.register_module("dec", dec);
        if (alias != null) {
            org.bytedeco.pytorch.Module other = new org.bytedeco.pytorch.Module();
            other.register_parameter("weight", alias);
            model.register_module("other", other);
        }
        return model;
    }

    @Test
    void aTensorACppModuleHoldsUnderTwoNamesIsTakenOnceUnderItsFirstName() {
        Tensor weight = TestTensors.param(new double[]{1, 2, 3, 4}, 2, 2);
        NamedParameters params = NamedParameters.of(tied(weight, null));
        assertEquals(List.of("enc.weight", "dec.bias"), params.names());
        assertEquals(TensorChecks.identity(weight), TensorChecks.identity(params.entries().get(0).tensor()));
    }

    @Test
    void aTiedTorchScriptModelGivesTheNamesPythonsNamedParametersGives() {
        JitModule model = PythonFixtures.model(Path.of("src/test/resources/tied-model/model_init.pt"));
        IValue expected = PythonFixtures.load(Path.of("src/test/resources/tied-model/expected.pt"));
        assertEquals(PythonFixtures.strings(PythonFixtures.get(expected, "param_names")),
                NamedParameters.of(model).names());
    }

    @Test
    void aDetachedAliasUnderAnotherNameIsAnotherTensorAndRefused() {
        Tensor weight = TestTensors.param(new double[]{1, 2, 3, 4}, 2, 2);
        org.bytedeco.pytorch.Module model = tied(weight, weight.detach());
        assertEquals(List.of("enc.weight", "dec.bias", "other.weight"), NamedParameters.of(model).names());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TorchOptList.optimizerForIdx(NamedParameters.of(model), 0, 100));
        assertTrue(e.getMessage().contains("params[2] shares memory with params[0]"), e.getMessage());
    }

    @Test
    void frozenParametersAreLeftOut() {
        org.bytedeco.pytorch.Module model = mlp();
        model.named_parameters(true).get("fc1.weight").set_requires_grad(false);
        assertEquals(List.of("fc1.bias", "norm.weight", "norm.bias", "fc2.weight", "fc2.bias"),
                NamedParameters.of(model).names());
    }

    @Test
    void aModuleWithoutTrainableParametersIsRefused() {
        org.bytedeco.pytorch.Module model = new org.bytedeco.pytorch.Module();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NamedParameters.of(model));
        assertTrue(e.getMessage().contains("no trainable parameter"), e.getMessage());
    }

    @Test
    void theOptimizerForAModuleKeepsTheNamesAndTheEntrysConfiguration() {
        try (NAdamWCosineDecay opt = TestTensors.forIdx(mlp(), 3, 100, ListVariant.TORCH_PORT)) {
            assertEquals(1, opt.paramGroups().size());
            ParamGroup group = opt.paramGroups().get(0);
            assertEquals(6, group.params().size());
            assertEquals("fc2.bias", group.names().get(5));
            assertEquals(OptList.config(3, ListVariant.TORCH_PORT), group.config());
        }
    }

    @Test
    void theCommonRuleTakesWeightDecayOffBiasesAndNormsOnly() {
        NAdamWConfig entry = firstEntryWithBothDecays();
        List<ParamGroup> groups = NamedParameters.of(mlp())
                .groupBy(NamedParameters.withoutDecayOnBiasesAndNorms(entry));
        assertEquals(2, groups.size());
        assertEquals(List.of("fc1.weight", "fc2.weight"), groups.get(0).names());
        assertEquals(entry, groups.get(0).config());
        assertEquals(List.of("fc1.bias", "norm.weight", "norm.bias", "fc2.bias"), groups.get(1).names());
        assertEquals(0.0, groups.get(1).config().l2WeightDecay());
        assertEquals(0.0, groups.get(1).config().adamwWeightDecay());
        assertEquals(entry.learningRate(), groups.get(1).config().learningRate());
    }

    @Test
    void aRuleSaysWhichNamesGetWhichConfiguration() {
        NAdamWConfig slow = OptList.config(0);
        NAdamWConfig fast = OptList.config(1);
        List<ParamGroup> groups = NamedParameters.of(mlp())
                .groupBy(p -> p.name().startsWith("fc2.") ? fast : slow);
        assertEquals(List.of("fc1.weight", "fc1.bias", "norm.weight", "norm.bias"), groups.get(0).names());
        assertSame(slow, groups.get(0).config());
        assertEquals(List.of("fc2.weight", "fc2.bias"), groups.get(1).names());
        assertSame(fast, groups.get(1).config());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NamedParameters.of(mlp()).groupBy(p -> p.name().equals("norm.bias") ? null : slow));
        assertTrue(e.getMessage().contains("'norm.bias'"), e.getMessage());
    }

    @Test
    void biasesAndOneDimensionalParametersCountAsBiasesOrNorms() {
        Tensor matrix = TestTensors.param(new double[6], 2, 3);
        Tensor vector = TestTensors.param(new double[3], 3);
        assertTrue(NamedParameters.isBiasOrNorm(new NamedParameters.Entry("bn.weight", vector)));
        assertTrue(NamedParameters.isBiasOrNorm(new NamedParameters.Entry("conv.bias", matrix)));
        assertFalse(NamedParameters.isBiasOrNorm(new NamedParameters.Entry("conv.weight", matrix)));
        assertFalse(NamedParameters.isBiasOrNorm(new NamedParameters.Entry("biased.weight", matrix)));
    }

    @Test
    void namesMustBeOnePerParameterAndDistinct() {
        Tensor a = TestTensors.param(new double[]{1}, 1);
        Tensor b = TestTensors.param(new double[]{2}, 1);
        NAdamWConfig config = OptList.config(0);
        assertThrows(IllegalArgumentException.class, () -> ParamGroup.named(List.of("a"), List.of(a, b), config));
        assertThrows(IllegalArgumentException.class,
                () -> ParamGroup.named(List.of("a", "a"), List.of(a, b), config));
        assertThrows(IllegalArgumentException.class,
                () -> ParamGroup.named(List.of("a", ""), List.of(a, b), config));
        Map<String, Tensor> named = new LinkedHashMap<>();
        named.put("b", b);
        named.put("a", a);
        assertEquals(List.of("b", "a"), NamedParameters.of(named).names());
        assertFalse(ParamGroup.of(List.of(a), config).isNamed());
    }

    private static NAdamWConfig firstEntryWithBothDecays() {
        for (int i = 0; i < OptList.size(); i++) {
            NAdamWConfig c = OptList.config(i);
            if (c.l2WeightDecay() != 0 && c.adamwWeightDecay() != 0) {
                return c;
            }
        }
        throw new AssertionError("the list has no entry with both kinds of weight decay");
    }
}
