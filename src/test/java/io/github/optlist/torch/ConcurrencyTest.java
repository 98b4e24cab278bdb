package io.github.optlist.torch;

import io.github.optlist.OptList;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class ConcurrencyTest {

    /** Trains one parameter with its own optimizer; the outcome depends on the seed only. */
    static double[] train(long seed) {
        Random random = new Random(seed);
        Tensor p = TestTensors.param(TestTensors.gaussian(random, 4096, 1.0), 64, 64);
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(p), (int) (seed % 5), 200)) {
            for (int k = 0; k < 200; k++) {
                opt.zeroGrad();
                TestTensors.setGrad(p, TestTensors.gaussian(random, 4096, 1.0));
                opt.step();
            }
        }
        return TestTensors.values(p);
    }

    @Test
    void distinctOptimizersOnDistinctParametersStepConcurrently() throws Exception {
        double[] alone1 = train(1);
        double[] alone2 = train(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<double[]> together1 = pool.submit(() -> train(1));
            Future<double[]> together2 = pool.submit(() -> train(2));
            assertArrayEquals(alone1, together1.get());
            assertArrayEquals(alone2, together2.get());
        } finally {
            pool.shutdownNow();
        }
    }
}
