package io.github.optlist.torch;

import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import io.github.optlist.distributed.GroupSettings;
import io.github.optlist.distributed.TestPorts;
import io.github.optlist.distributed.TrainingGroup;
import io.github.optlist.distributed.ZeroRedundancyOptimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A closed optimizer refuses every call that would use its parameters or state; closing twice is fine. */
class ClosedOptimizerTest {

    @Test
    void everyCallThatWouldUseAClosedOptimizerIsRefused() {
        Tensor p = randn(3).detach().set_requires_grad(true);
        var opt = TestTensors.optimizer(new TensorVector(p), OptList.config(0), 100);
        TestTensors.setGrad(p, new double[]{1, 2, 3});
        opt.step();
        opt.close();
        TestTensors.setGrad(p, new double[]{1, 2, 3});
        double[] before = TestTensors.values(p);
        boolean[] closureRan = {false};
        Map<String, Executable> calls = new LinkedHashMap<>();
        calls.put("step", opt::step);
        calls.put("step(closure)", () -> opt.step(() -> {
            closureRan[0] = true;
            return randn(1);
        }));
        calls.put("zeroGrad", opt::zeroGrad);
        calls.put("zeroGrad(false)", () -> opt.zeroGrad(false));
        calls.put("addParamGroup", () -> opt.addParamGroup(ParamGroup.of(List.of(randn(2)), OptList.config(0))));
        calls.put("learningRate", () -> opt.learningRate());
        calls.put("learningRate(0)", () -> opt.learningRate(0));
        calls.put("stepCount(param)", () -> opt.stepCount(p));
        calls.put("stateDict", () -> opt.stateDict(p));
        calls.put("loadStateDict", () -> opt.loadStateDict(p, new OptimizerState.Param(0, null, null)));
        calls.put("setStepCount", () -> opt.setStepCount(3));
        calls.put("state", opt::state);
        calls.put("loadState", () -> opt.loadState(null));
        calls.put("setSkippedStepListener", () -> opt.setSkippedStepListener(step -> { }));
        calls.put("save", () -> opt.save(Path.of("target", "closed-optimizer.ckpt")));
        calls.put("load", () -> opt.load(Path.of("target", "closed-optimizer.ckpt")));
        calls.put("loadPythonStateDict", () -> opt.loadPythonStateDict(Path.of("target", "no-such-state-dict.pt")));
        calls.put("savePythonStateDict", () -> opt.savePythonStateDict(Path.of("target", "closed-optimizer.pt")));
        for (Map.Entry<String, Executable> call : calls.entrySet()) {
            var e = assertThrows(IllegalStateException.class, call.getValue(), call.getKey());
            assertTrue(e.getMessage().contains("closed"), call.getKey() + ": " + e.getMessage());
        }
        assertFalse(closureRan[0], "the closure does not run on a closed optimizer");
        assertEquals(1, opt.paramGroups().size(), "addParamGroup added nothing");
        assertTrue(p.grad().defined(), "zeroGrad cleared nothing");
        assertEquals(UpdatePath.FUSED, opt.options().updatePath());
        assertEquals(1, opt.stepCount(), "the getters of plain values still answer");
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, TestTensors.values(p));
        opt.close();
    }

    @Test
    void aClosedShardedOptimizerRefusesBeforeItReadsOrWritesAFile() throws Exception {
        Tensor p = randn(3).detach().set_requires_grad(true);
        Path missing = Path.of("target", "no-such-state-dict.pt");
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("127.0.0.1", TestPorts.freePort(), 0, 1,
                Duration.ofSeconds(30)))) {
            ZeroRedundancyOptimizer opt = ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(new TensorVector(p),
                    0, 100, ListVariant.TASKSET, OptimizerOptions.DEFAULTS));
            opt.close();
            Map<String, Executable> calls = new LinkedHashMap<>();
            calls.put("step", opt::step);
            calls.put("state", opt::state);
            calls.put("loadState", () -> opt.loadState(null));
            calls.put("setSkippedStepListener", () -> opt.setSkippedStepListener(step -> { }));
            calls.put("save", () -> opt.save(Path.of("target", "closed-sharded.ckpt")));
            calls.put("load", () -> opt.load(missing));
            calls.put("loadPythonStateDict", () -> opt.loadPythonStateDict(missing));
            calls.put("savePythonStateDict", () -> opt.savePythonStateDict(Path.of("target", "closed-sharded.pt")));
            for (Map.Entry<String, Executable> call : calls.entrySet()) {
                var e = assertThrows(IllegalStateException.class, call.getValue(), call.getKey());
                assertTrue(e.getMessage().contains("closed"), call.getKey() + ": " + e.getMessage());
            }
            opt.close();
        }
    }
}
