package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every bad input is refused at once with a message naming it, before any tensor changes. */
class BadInputTest {

    final NAdamWConfig entry = OptList.config(0);

    static void assertRefused(Executable call, String... messageParts) {
        var e = assertThrows(IllegalArgumentException.class, call);
        for (String part : messageParts) {
            assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' should mention '" + part + "'");
        }
    }

    Tensor param() {
        return randn(3).set_requires_grad(true);
    }

    @Test
    void listIndexBelowZero() {
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(param()), -1, 100), "idx", "-1", "[0, 1000)");
    }

    @Test
    void listIndexPastTheEnd() {
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(param()), 1000, 100), "1000", "[0, 1000)");
    }

    @Test
    void trainingStepsZeroOrNegative() {
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(param()), 0, 0), "trainingSteps", "0");
        assertRefused(() -> new OptimizerSpec(List.of(ParamGroup.of(List.of(param()), entry)), -5, ListVariant.TASKSET,
                OptimizerOptions.DEFAULTS), "trainingSteps", "-5");
    }

    @Test
    void nullParameters() {
        assertRefused(() -> TorchOptList.optimizerForIdx((TensorVector) null, 0, 100), "params", "null");
    }

    @Test
    void noParameters() {
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(), 0, 100), "at least one parameter");
        assertRefused(() -> new OptimizerSpec(List.of(), 100, ListVariant.TASKSET, OptimizerOptions.DEFAULTS),
                "at least one parameter group");
    }

    @Test
    void nullTensorInTheList() {
        assertRefused(() -> ParamGroup.of(Arrays.asList(param(), null), entry), "params[1]", "null");
    }

    @Test
    void nullConfigOrVariant() {
        assertRefused(() -> ParamGroup.of(new TensorVector(param()), null), "config");
        assertRefused(() -> new OptimizerSpec(List.of(ParamGroup.of(List.of(param()), entry)), 100, null,
                OptimizerOptions.DEFAULTS), "variant");
    }

    @Test
    void integerTensor() {
        Tensor ints = Tensor.create(new long[]{1, 2, 3}, 3);
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(param(), ints), 0, 100),
                "params[1]", "Long", "floating-point");
    }

    @Test
    void nonLeafTensor() {
        Tensor computed = param().mul(new Scalar(2.0));
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(computed), 0, 100), "params[0]", "leaf");
    }

    @Test
    void sameTensorTwiceInAListGivenByHandButOnceFromAModelsParameterList() {
        Tensor p = param();
        assertRefused(() -> ParamGroup.of(List.of(p, param(), p), entry), "params[2]", "params[0]", "same tensor");
        Map<String, Tensor> named = new LinkedHashMap<>();
        named.put("a", p);
        named.put("b", p);
        assertRefused(() -> NamedParameters.of(named).group(entry), "params[1]", "params[0]", "same tensor");
        // model.parameters() of a model with tied weights lists the tensor twice; Python's lists it once.
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(p, param(), p), 0, 100)) {
            assertEquals(2, opt.paramGroups().get(0).params().size());
            assertEquals(TensorChecks.identity(p), TensorChecks.identity(opt.paramGroups().get(0).params().get(0)));
        }
    }

    @Test
    void aRepeatInAModelsParameterListIsDroppedButItsDetachedAliasIsRefusedAtItsOwnPosition() {
        Tensor p = param();
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(p, p, param(), p.detach()), 0, 100),
                "params[3] shares memory with params[0]");
    }

    @Test
    void sameTensorInTwoGroups() {
        Tensor p = param();
        assertRefused(() -> new OptimizerSpec(List.of(ParamGroup.of(List.of(p), entry),
                ParamGroup.of(List.of(param(), p), entry)), 100, ListVariant.TASKSET, OptimizerOptions.DEFAULTS),
                "params[1] of group 1", "params[0] of group 0");
    }

    @Test
    void addingAGroupWithATensorAlreadyOptimized() {
        Tensor p = param();
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 100)) {
            assertRefused(() -> opt.addParamGroup(ParamGroup.of(List.of(p), entry)), "same tensor");
            assertEquals(1, opt.paramGroups().size());
        }
    }

    @Test
    void undefinedTensor() {
        assertRefused(() -> ParamGroup.of(List.of(param(), new Tensor()), entry), "params[1]", "undefined");
    }

    @Test
    void expandedTensorWithStrideZero() {
        Tensor expanded = randn(1, 3).expand(4, 3);
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(param(), expanded), 0, 100),
                "params[1] has internal overlap: dimension 0 has size 4 and stride 0");
    }

    @Test
    void stridedViewThatReachesOneElementTwice() {
        Tensor overlapping = randn(10).as_strided(new long[]{3, 3}, 2, 1);
        assertRefused(() -> ParamGroup.of(List.of(overlapping), entry), "params[0] may have internal overlap",
                "[2, 1]", "[3, 3]");
    }

    @Test
    void mkldnnTensor() {
        Tensor mkldnn = randn(4).to_mkldnn();
        assertRefused(() -> ParamGroup.of(List.of(mkldnn), entry), "params[0] has layout", "only dense");
    }

    @Test
    void tensorAndItsDetachedAliasInOneGroup() {
        Tensor p = param();
        assertRefused(() -> TorchOptList.optimizerForIdx(new TensorVector(p, param(), p.detach()), 0, 100),
                "params[2] shares memory with params[0]");
    }

    @Test
    void tensorAndItsDetachedAliasInTwoGroups() {
        Tensor p = param();
        assertRefused(() -> new OptimizerSpec(List.of(ParamGroup.of(List.of(p), entry),
                ParamGroup.of(List.of(p.detach()), entry)), 100, ListVariant.TASKSET, OptimizerOptions.DEFAULTS),
                "params[0] of group 1 shares memory with params[0] of group 0");
    }

    @Test
    void addingAGroupWithATensorSharingMemoryChangesNothing() {
        Tensor p = param();
        try (var opt = TestTensors.optimizer(new TensorVector(p), entry, 100)) {
            assertRefused(() -> opt.addParamGroup(ParamGroup.of(List.of(param(), p.detach()), entry)),
                    "params[1] of group 1 shares memory with params[0] of group 0");
            assertEquals(1, opt.paramGroups().size());
            opt.addParamGroup(ParamGroup.of(List.of(param()), entry));
            assertEquals(2, opt.paramGroups().size(), "a group of other tensors is still taken");
        }
    }

    @Test
    void overlappingSlicesOfOneBuffer() {
        Tensor buffer = randn(10);
        assertRefused(() -> ParamGroup.of(List.of(buffer.narrow(0, 0, 6), buffer.narrow(0, 4, 6)), entry),
                "params[1] shares memory with params[0]");
    }

    @Test
    void disjointSlicesOfOneBufferAreEachUpdatedOnce() {
        Tensor buffer = Tensor.create(new float[]{1, 2, 3, 4, 5, 6}, 6);
        Tensor first = buffer.narrow(0, 0, 3);
        Tensor second = buffer.narrow(0, 3, 3);
        Tensor twin = Tensor.create(new float[]{1, 2, 3, 4, 5, 6}, 6);
        try (var opt = TestTensors.optimizer(new TensorVector(second, first), entry, 100);
             var reference = TestTensors.optimizer(new TensorVector(twin), entry, 100)) {
            first.mutable_grad().put(Tensor.create(new float[]{1, -1, 2}, 3));
            second.mutable_grad().put(Tensor.create(new float[]{-2, 3, 1}, 3));
            twin.mutable_grad().put(Tensor.create(new float[]{1, -1, 2, -2, 3, 1}, 6));
            opt.step();
            reference.step();
            assertArrayEquals(TestTensors.values(twin), TestTensors.values(buffer));
        }
    }

    @Test
    void zeroingAnExpandedGradientInPlaceIsRefusedBeforeAnyGradientChanges() {
        Tensor first = param();
        Tensor second = param();
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(first, second), 0, 100)) {
            TestTensors.setGrad(first, new double[]{1, 2, 3});
            second.mutable_grad().put(Tensor.create(new float[]{5}, 1).expand(3));
            assertRefused(() -> opt.zeroGrad(false), "params[1] of group 0 has an expanded gradient");
            assertArrayEquals(new double[]{1, 2, 3}, TestTensors.values(first.grad()));
            opt.zeroGrad();
            assertTrue(!first.grad().defined() && !second.grad().defined(), "set to none works");
        }
    }

    @Test
    void zeroingAGradientThatIsAViewFillsItWithZeros() {
        Tensor p = param();
        Tensor bucket = Tensor.create(new float[]{7, 1, 2, 3}, 4);
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(p), 0, 100)) {
            p.mutable_grad().put(bucket.narrow(0, 1, 3));
            opt.zeroGrad(false);
            assertArrayEquals(new double[]{7, 0, 0, 0}, TestTensors.values(bucket), "zeroed in place, in the bucket");
        }
    }

    @Test
    void customConfigOutOfRange() {
        assertRefused(() -> new NAdamWConfig("bad", -1, 0.9, 0.999, 1e-8, false, 0, 0, 0, 0, 0, true),
                "learningRate", "-1.0");
    }

    @Test
    void sparseGradientIsRefusedBeforeAnyParameterChanges() {
        Tensor dense = param();
        Tensor sparse = param();
        double[] denseBefore = TestTensors.values(dense);
        double[] sparseBefore = TestTensors.values(sparse);
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(dense, sparse), 0, 100)) {
            TestTensors.setGrad(dense, new double[]{1, 1, 1});
            sparse.mutable_grad().put(Tensor.create(new float[]{0, 2, 0}, 3).to_sparse());
            assertRefused(opt::step, "params[1]", "sparse");
            assertArrayEquals(denseBefore, TestTensors.values(dense));
            assertArrayEquals(sparseBefore, TestTensors.values(sparse));
            assertEquals(0, opt.stepCount(dense));
            assertEquals(0, opt.stepCount());
        }
    }

    @Test
    void gradientOnAnotherDeviceIsRefusedBeforeAnyParameterChanges() {
        Tensor first = param();
        Tensor second = param();
        double[] firstBefore = TestTensors.values(first);
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(first, second), 0, 100)) {
            TestTensors.setGrad(first, new double[]{1, 1, 1});
            // The meta device holds no data; it stands in for a GPU on machines without one.
            second.mutable_grad().put(Tensor.create(new float[]{0, 2, 0}, 3).to(new Device("meta"),
                    second.scalar_type()));
            assertRefused(opt::step, "params[1]", "gradient is on meta");
            assertArrayEquals(firstBefore, TestTensors.values(first));
            assertEquals(0, opt.stepCount(first));
        }
    }

    @Test
    void stepCountOfATensorNotHeld() {
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(param()), 0, 100)) {
            assertRefused(() -> opt.stepCount(param()), "does not hold");
            assertRefused(() -> opt.learningRate(1), "groupIndex", "1");
        }
    }

    @Test
    void nullClosure() {
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(param()), 0, 100)) {
            assertRefused(() -> opt.step(null), "closure");
        }
    }

    @Test
    void steppingAClosedOptimizer() {
        Tensor p = param();
        var opt = TorchOptList.optimizerForIdx(new TensorVector(p), 0, 100);
        opt.close();
        TestTensors.setGrad(p, new double[]{1, 2, 3});
        var e = assertThrows(IllegalStateException.class, opt::step);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
