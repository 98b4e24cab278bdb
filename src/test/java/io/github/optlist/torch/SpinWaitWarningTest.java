package io.github.optlist.torch;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OMP_WAIT_POLICY warning: when it is due, what it says, and that a process logs it once. */
class SpinWaitWarningTest {

    @Test
    void unsetPolicyOnFourCoresOrFewerIsWarnedAbout() {
        for (int cores : new int[]{1, 2, 4}) {
            assertTrue(SpinWaitWarning.message(null, cores).isPresent(), cores + " cores");
            assertTrue(SpinWaitWarning.message("", cores).isPresent(), "blank counts as unset");
        }
    }

    @Test
    void anySetPolicyOrMoreThanFourCoresIsNotWarnedAbout() {
        assertEquals(Optional.empty(), SpinWaitWarning.message("PASSIVE", 2));
        assertEquals(Optional.empty(), SpinWaitWarning.message("ACTIVE", 2), "a policy set is the user's choice");
        assertEquals(Optional.empty(), SpinWaitWarning.message(null, 5));
        assertEquals(Optional.empty(), SpinWaitWarning.message(null, 64));
    }

    @Test
    void warningSaysWhatToSetAndWhy() {
        String text = SpinWaitWarning.message(null, 2).orElseThrow();
        assertTrue(text.contains("OMP_WAIT_POLICY=PASSIVE"), text);
        assertTrue(text.contains("2 cores"), text);
        assertTrue(text.contains("46 s instead of 4 s"), text);
    }

    @Test
    void warningIsLoggedOnceHoweverManyOptimizersAsk() {
        AtomicBoolean logged = new AtomicBoolean();
        List<String> log = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SpinWaitWarning.logOnce(logged, null, 2, log::add);
        }
        assertEquals(1, log.size());
        SpinWaitWarning.logOnce(new AtomicBoolean(), "PASSIVE", 2, log::add);
        assertEquals(1, log.size(), "nothing is logged when no warning is due");
    }
}
