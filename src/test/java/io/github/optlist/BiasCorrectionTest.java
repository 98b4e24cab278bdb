package io.github.optlist;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Expected values worked out by hand from {@code lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)}. */
class BiasCorrectionTest {

    static NAdamWConfig betas(double beta1, double beta2, boolean biasCorrection) {
        return new NAdamWConfig("b", 0.1, beta1, beta2, 1e-8, false, 0, 0, 0, 0, 1, biasCorrection);
    }

    @Test
    void firstUpdateScalesBySquareRootOfOneMinusBeta2OverOneMinusBeta1() {
        // sqrt(1 - 0.75) / (1 - 0.5) = 0.5 / 0.5 = 1
        assertEquals(2.0, BiasCorrection.stepSize(betas(0.5, 0.75, true), 2.0, 1), 1e-15);
        // t = 2: sqrt(1 - 0.5625) / (1 - 0.25) = sqrt(0.4375) / 0.75
        assertEquals(Math.sqrt(0.4375) / 0.75, BiasCorrection.stepSize(betas(0.5, 0.75, true), 1.0, 2), 1e-15);
    }

    @Test
    void correctionFadesToOneAfterManyUpdates() {
        assertEquals(0.3, BiasCorrection.stepSize(betas(0.9, 0.999, true), 0.3, 1_000_000), 1e-15);
    }

    @Test
    void withoutBiasCorrectionTheStepSizeIsTheLearningRate() {
        assertEquals(0.25, BiasCorrection.stepSize(betas(0.9, 0.999, false), 0.25, 1));
    }

    @Test
    void updatesCountFromOne() {
        assertThrows(IllegalArgumentException.class, () -> BiasCorrection.stepSize(betas(0.9, 0.99, true), 1, 0));
        assertThrows(IllegalArgumentException.class, () -> BiasCorrection.stepSize(null, 1, 1));
    }
}
