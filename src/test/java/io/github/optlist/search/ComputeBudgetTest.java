package io.github.optlist.search;

import io.github.optlist.internal.SettingException;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ComputeBudgetTest {

    @Test
    void aFullTrialCostsTheTrainingLengthAndAStoppedOneTheStepsUpToItsLastReport() {
        assertEquals(250, SearchSettings.Budget.cost(TrialStatus.OK, 249, 250));
        assertEquals(250, SearchSettings.Budget.cost(TrialStatus.OK, -1, 250));
        assertEquals(50, SearchSettings.Budget.cost(TrialStatus.PRUNED, 49, 250));
        assertEquals(13, SearchSettings.Budget.cost(TrialStatus.DIVERGED, 12, 250));
        assertEquals(0, SearchSettings.Budget.cost(TrialStatus.FAILED, -1, 250));
        assertEquals(250, SearchSettings.Budget.cost(TrialStatus.FAILED, 400, 250));
    }

    @Test
    void trialsStartWhileTheSpentStepsAreBelowTheBudget() {
        SearchSettings.Budget ten = new SearchSettings.Budget(10);
        assertEquals(2500, ten.steps(250));
        assertTrue(ten.mayStart(2499, 250));
        assertFalse(ten.mayStart(2500, 250));
        assertTrue(SearchSettings.Budget.NONE.mayStart(Long.MAX_VALUE - 1, 250));
        assertFalse(SearchSettings.Budget.NONE.limited());
    }

    @Test
    void aNegativeBudgetIsRefusedNamingIt() {
        assertEquals("budget", assertThrows(SettingException.class, () -> new SearchSettings.Budget(-1)).setting());
        assertThrows(IllegalArgumentException.class, () -> SearchSettings.Budget.cost(null, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> SearchSettings.Budget.cost(TrialStatus.OK, 0, 0));
    }
}
