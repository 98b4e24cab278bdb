package io.github.optlist.search.tasks;

import java.util.List;
import java.util.stream.Collectors;

/** The tasks that ship with opt-list: deterministic, generated in memory, no downloads. */
public final class BuiltInTasks {

    private static final List<SearchTask> ALL = List.of(new SeedMlpTask(), new SpiralsTask(), new WaveConvTask(),
            new CharGruTask(), new ShapesConvTask(), new ManifoldAutoencoderTask(), new IllConditionedRegressionTask(),
            new ResidualMlpTask());

    private BuiltInTasks() {
    }

    /** Every built-in task. */
    public static List<SearchTask> all() {
        return ALL;
    }

    /**
     * The task called {@code name}.
     *
     * @throws IllegalArgumentException naming the known tasks if there is none of that name
     */
    public static SearchTask byName(String name) {
        return ALL.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown task '" + name + "'; built-in tasks are "
                        + ALL.stream().map(SearchTask::name).collect(Collectors.joining(", "))));
    }
}
