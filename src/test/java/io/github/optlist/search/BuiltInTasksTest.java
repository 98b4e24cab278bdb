package io.github.optlist.search;

import io.github.optlist.ListVariant;
import io.github.optlist.search.tasks.BuiltInTasks;
import io.github.optlist.search.tasks.SearchTask;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.HashSet;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.bytedeco.pytorch.global.torch.get_num_threads;
import static org.bytedeco.pytorch.global.torch.set_num_threads;

class BuiltInTasksTest {

    /** The built-in tasks, in registry order. */
    static final List<String> NAMES = List.of("seed-mlp", "spirals", "wave-conv", "char-gru", "shapes-conv",
            "manifold-ae", "ill-conditioned", "residual-mlp");

    private static int threadsBefore;

    /**
     * One thread, as the reproduce protocol runs trials ({@code OMP_NUM_THREADS=1}): LibTorch's intra-op threads, and
     * OpenBLAS's own pool, which {@code set_num_threads} does not reach. These small ops gain nothing from a second
     * thread, and on a loaded machine every parallel region or matrix product then waits for a descheduled thread:
     * spirals at its protocol length took 16 s with two OpenBLAS threads instead of 1.8 s with one.
     */
    @BeforeAll
    static void oneThread() {
        threadsBefore = get_num_threads();
        set_num_threads(1);
        Loader.load(openblas_nolapack.class);
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
    }

    /** OpenBLAS's default is one thread per core. */
    @AfterAll
    static void restoreThreads() {
        set_num_threads(threadsBefore);
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(
                Runtime.getRuntime().availableProcessors());
    }

    static List<String> names() {
        return NAMES;
    }

    static TrialResult run(SearchTask task, long steps, int index) {
        SearchSettings settings = SearchSettings.builder(task.name(), steps, 1).start(index).build();
        return Search.runOne(settings, task, Candidate.listEntry(index, ListVariant.TASKSET), SearchListener.NONE,
                new TrialContext.Progress(), List::of).result();
    }

    static double objective(SearchTask task, long steps) {
        TrialResult result = run(task, steps, 0);
        assertEquals(TrialStatus.OK, result.status(), result.reason());
        return result.objective();
    }

    @Test
    void theRegistryListsEveryTaskOnceWithADescriptionAndAProtocolLength() {
        assertEquals(NAMES, BuiltInTasks.all().stream().map(SearchTask::name).toList());
        assertEquals(NAMES.size(), new HashSet<>(NAMES).size());
        for (SearchTask task : BuiltInTasks.all()) {
            assertSame(task, BuiltInTasks.byName(task.name()));
            assertFalse(task.description().isBlank(), task.name());
            assertTrue(task.protocolSteps() > 0, task.name());
        }
    }

    /** List entry 0 (NAdamW, learning rate 1.2e-3, no warm-up) is a sensible optimizer for every task. */
    @ParameterizedTest
    @MethodSource("names")
    void trainingForTheProtocolLengthWithTheFirstEntryLowersTheValidationObjective(String name) {
        SearchTask task = BuiltInTasks.byName(name);
        double untrained = objective(task, 1);
        double trained = objective(task, task.protocolSteps());
        assertTrue(trained < 0.8 * untrained, name + ": " + untrained + " -> " + trained);
    }

    @ParameterizedTest
    @MethodSource("names")
    void sameSeedGivesTheSameObjective(String name) {
        SearchTask task = BuiltInTasks.byName(name);
        assertEquals(objective(task, 5), objective(task, 5));
    }

    @Test
    void everyStepsLossIsReportedOnceInOrderWhenTheLengthIsNoMultipleOfTheReadbackInterval() {
        TrialResult result = run(BuiltInTasks.byName("manifold-ae"), 23, 0);
        assertEquals(TrialStatus.OK, result.status(), result.reason());
        assertEquals(IntStream.range(0, 23).boxed().toList(),
                result.curve().stream().map(point -> (int) point.step()).toList());
        assertTrue(result.curve().stream().allMatch(point -> Double.isFinite(point.loss())));
    }

    /** Losses are read back in batches, so training runs on past a diverging step; the verdict names that step. */
    @Test
    void divergenceIsReportedAtTheStepWhereTheLossBrokeTheRule() {
        TrialResult result = run(BuiltInTasks.byName("ill-conditioned"), 40, 11);
        assertEquals(TrialStatus.DIVERGED, result.status(), result.reason());
        assertTrue(result.reason().startsWith("diverged at step 4: "), result.reason());
        assertEquals(4, result.curve().get(result.curve().size() - 1).step());
        assertEquals(5, result.curve().size());
    }

    @Test
    void unknownTaskIsRefusedNamingTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> BuiltInTasks.byName("imagenet"));
        assertTrue(e.getMessage().contains(String.join(", ", NAMES)), e.getMessage());
    }
}
