package io.github.optlist.search;

import io.github.optlist.search.tasks.BuiltInTasks;
import io.github.optlist.search.tasks.SearchTask;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BuiltInTasksTest {

    static double objective(SearchTask task, long steps) {
        TrialResult result = Search.runOne(SearchSettings.of(task.name(), steps, 1), task,
                Candidate.listEntry(0, io.github.optlist.ListVariant.TASKSET), SearchListener.NONE);
        assertEquals(TrialStatus.OK, result.status(), result.reason());
        return result.objective();
    }

    @ParameterizedTest
    @ValueSource(strings = {"seed-mlp", "spirals", "wave-conv"})
    void trainingWithTheFirstEntryLowersTheValidationObjective(String name) {
        SearchTask task = BuiltInTasks.byName(name);
        double untrained = objective(task, 1);
        double trained = objective(task, 300);
        assertTrue(trained < 0.9 * untrained, name + ": " + untrained + " -> " + trained);
    }

    @ParameterizedTest
    @ValueSource(strings = {"seed-mlp", "spirals", "wave-conv"})
    void sameSeedGivesTheSameObjective(String name) {
        SearchTask task = BuiltInTasks.byName(name);
        assertEquals(objective(task, 5), objective(task, 5));
    }

    @Test
    void unknownTaskIsRefusedNamingTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> BuiltInTasks.byName("imagenet"));
        assertTrue(e.getMessage().contains("seed-mlp, spirals, wave-conv"), e.getMessage());
    }
}
