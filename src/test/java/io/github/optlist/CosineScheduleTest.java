package io.github.optlist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static io.github.optlist.ListVariant.TASKSET;
import static io.github.optlist.ListVariant.TORCH_PORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expected values are worked out by hand from the schedule's formula. */
class CosineScheduleTest {

    static NAdamWConfig schedule(double lr, double warmup, double minMult, double constant) {
        return new NAdamWConfig("s", lr, 0.9, 0.999, 1e-8, false, 0, 0, warmup, minMult, constant, true);
    }

    @ParameterizedTest
    @EnumSource(ListVariant.class)
    void cosineDecayRunsFromPeakAtConstantEndToFloorAtT(ListVariant v) {
        NAdamWConfig c = schedule(1.0, 0.0, 0.1, 0.5);
        assertEquals(1.0, CosineSchedule.learningRate(c, 0, 100, v));
        assertEquals(1.0, CosineSchedule.learningRate(c, 50, 100, v));
        // halfway through the decay: cos(pi / 2) = 0, so 0.9 * 0.5 + 0.1
        assertEquals(0.55, CosineSchedule.learningRate(c, 75, 100, v), 1e-15);
        assertEquals(0.1, CosineSchedule.learningRate(c, 100, 100, v), 1e-15);
    }

    @ParameterizedTest
    @EnumSource(ListVariant.class)
    void stepsPastTrainingStepsKeepTheFinalRate(ListVariant v) {
        NAdamWConfig c = schedule(0.3, 0.0, 0.01, 0.2);
        double last = CosineSchedule.learningRate(c, 40, 40, v);
        assertEquals(0.003, last, 1e-15);
        assertEquals(last, CosineSchedule.learningRate(c, 41, 40, v));
        assertEquals(last, CosineSchedule.learningRate(c, 1_000_000, 40, v));
    }

    @ParameterizedTest
    @EnumSource(ListVariant.class)
    void singleTrainingStepStartsAtThePeakWithoutWarmup(ListVariant v) {
        NAdamWConfig c = schedule(2.0, 0.0, 0.0, 0.0);
        assertEquals(2.0, CosineSchedule.learningRate(c, 0, 1, v));
        assertEquals(0.0, CosineSchedule.learningRate(c, 1, 1, v), 1e-15);
    }

    @Test
    void singleTrainingStepWithWarmupStartsAtZero() {
        // T = 1, warm-up 0.5, constant 0.5: w = 0.5 in both variants, and s = 0 < w
        NAdamWConfig c = schedule(2.0, 0.5, 0.0, 0.5);
        assertEquals(0.0, CosineSchedule.learningRate(c, 0, 1, TASKSET));
        assertEquals(0.0, CosineSchedule.learningRate(c, 0, 1, TORCH_PORT));
    }

    @ParameterizedTest
    @EnumSource(ListVariant.class)
    void constantFractionOneNeverDecaysAndIsNeverNaN(ListVariant v) {
        NAdamWConfig c = schedule(0.7, 0.0, 0.5, 1.0);
        for (long step : new long[]{0, 1, 99, 100, 101, 10_000}) {
            assertEquals(0.7, CosineSchedule.learningRate(c, step, 100, v), "step " + step);
        }
    }

    @ParameterizedTest
    @EnumSource(ListVariant.class)
    void constantFractionJustBelowOneDecaysOnlyAtTheVeryEnd(ListVariant v) {
        NAdamWConfig c = schedule(0.7, 0.0, 0.5, Math.nextDown(1.0));
        assertEquals(0.7, CosineSchedule.learningRate(c, 99, 100, v));
        double end = CosineSchedule.learningRate(c, 100, 100, v);
        assertEquals(0.35, end, 1e-12);
        for (long step = 0; step <= 101; step++) {
            assertTrue(Double.isFinite(CosineSchedule.learningRate(c, step, 100, v)));
        }
    }

    @Test
    void warmupLongerThanConstantPhaseEndsAtConstantEndInTaskSet() {
        // T = 100, warm-up 0.2, constant 0.1: TaskSet warms up over min(20, 10) = 10 steps
        NAdamWConfig c = schedule(1.0, 0.2, 0.0, 0.1);
        assertEquals(0.0, CosineSchedule.learningRate(c, 0, 100, TASKSET));
        assertEquals(0.5, CosineSchedule.learningRate(c, 5, 100, TASKSET), 1e-15);
        assertEquals(1.0, CosineSchedule.learningRate(c, 10, 100, TASKSET), 1e-15);
        // step 55: progress (55 - 10) / 90 = 0.5
        assertEquals(0.5, CosineSchedule.learningRate(c, 55, 100, TASKSET), 1e-15);
    }

    @Test
    void warmupLongerThanConstantPhaseRunsItsFullLengthInTorchPort() {
        // T = 100, warm-up 0.2, constant 0.1: the ports warm up over max(20, 10) = 20 steps
        NAdamWConfig c = schedule(1.0, 0.2, 0.0, 0.1);
        assertEquals(0.25, CosineSchedule.learningRate(c, 5, 100, TORCH_PORT), 1e-15);
        assertEquals(0.75, CosineSchedule.learningRate(c, 15, 100, TORCH_PORT), 1e-15);
        // step 20 leaves warm-up already 10 steps into the decay: progress 10 / 90
        assertEquals(Math.cos(Math.PI / 9) / 2 + 0.5, CosineSchedule.learningRate(c, 20, 100, TORCH_PORT), 1e-15);
    }

    @Test
    void warmupShorterThanConstantPhaseDiffersBetweenVariants() {
        // T = 1000, warm-up 0.01, constant 0.5: TaskSet warms up 10 steps, the ports 500
        NAdamWConfig c = schedule(1.0, 0.01, 0.0, 0.5);
        assertEquals(1.0, CosineSchedule.learningRate(c, 10, 1000, TASKSET));
        assertEquals(0.02, CosineSchedule.learningRate(c, 10, 1000, TORCH_PORT), 1e-15);
        assertEquals(1.0, CosineSchedule.learningRate(c, 500, 1000, TORCH_PORT));
    }

    @Test
    void noWarmupFractionMeansNoWarmupInEitherVariant() {
        NAdamWConfig c = schedule(1.0, 0.0, 0.0, 0.5);
        assertEquals(1.0, CosineSchedule.learningRate(c, 0, 100, TORCH_PORT));
        assertEquals(1.0, CosineSchedule.learningRate(c, 0, 100, TASKSET));
    }

    @Test
    void badArgumentsAreRefused() {
        NAdamWConfig c = schedule(1.0, 0.0, 0.0, 0.5);
        assertThrows(IllegalArgumentException.class, () -> CosineSchedule.learningRate(c, -1, 100, TASKSET));
        var e = assertThrows(IllegalArgumentException.class, () -> CosineSchedule.learningRate(c, 0, 0, TASKSET));
        assertTrue(e.getMessage().contains("trainingSteps") && e.getMessage().contains("0"));
        assertThrows(IllegalArgumentException.class, () -> CosineSchedule.learningRate(null, 0, 10, TASKSET));
        assertThrows(IllegalArgumentException.class, () -> CosineSchedule.learningRate(c, 0, 10, null));
    }
}
