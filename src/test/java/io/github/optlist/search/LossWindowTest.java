package io.github.optlist.search;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossWindowTest {

    @Test
    void theIntermediateValueIsTheMeanOfTheLossesOfTheLastWindowSteps() {
        LossWindow w = new LossWindow(3);
        assertEquals(1.0, w.add(0, 1), 0.0);
        assertEquals(1.5, w.add(1, 2), 0.0);
        assertEquals(2.0, w.add(2, 3), 0.0);
        assertEquals(3.0, w.add(3, 4), 0.0);          // (2 + 3 + 4) / 3
        PruningMonitor.Values v = w.values();
        assertEquals(4, v.size());
        assertEquals(3, v.lastStep());
        assertEquals(3.0, v.lastValue(), 0.0);
        assertEquals(1.0, v.best(Direction.MINIMIZE), 0.0);
    }

    @Test
    void theWindowSpansStepsNotReports() {
        LossWindow w = new LossWindow(3);
        w.add(0, 1);
        assertEquals(2.0, w.add(2, 3), 0.0);          // steps 0..2
        assertEquals(5.0, w.add(5, 5), 0.0);          // steps 3..5: only step 5 reported
    }

    @Test
    void anInfiniteLossLeavesTheWindowAgain() {
        LossWindow w = new LossWindow(2);
        w.add(0, 1);
        assertEquals(Double.POSITIVE_INFINITY, w.add(1, Double.POSITIVE_INFINITY), 0.0);
        assertEquals(Double.POSITIVE_INFINITY, w.add(2, 3), 0.0);
        assertEquals(4.0, w.add(3, 5), 0.0);
    }

    @Test
    void aStepNotAfterTheLastOneOrNegativeGetsNoValue() {
        LossWindow w = new LossWindow(2);
        assertFalse(w.accepts(-1));
        w.add(4, 1);
        assertFalse(w.accepts(4));
        assertFalse(w.accepts(3));
        assertTrue(w.accepts(5));
        assertTrue(Double.isNaN(w.add(4, 100)));
        assertEquals(1, w.values().size());
        assertEquals(1.0, w.values().lastValue(), 0.0);
    }

    @Test
    void valuesHandedOutDoNotChangeAsTheWindowGrows() {
        LossWindow w = new LossWindow(1);
        w.add(0, 7);
        PruningMonitor.Values early = w.values();
        for (int i = 1; i < 300; i++) {          // past the first reallocation
            w.add(i, i);
        }
        assertEquals(1, early.size());
        assertEquals(7.0, early.value(0), 0.0);
        assertEquals(300, w.values().size());
        assertEquals(299.0, w.values().value(299), 0.0);
    }

    @Test
    void aWindowBelowOneStepIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LossWindow(0));
    }
}
