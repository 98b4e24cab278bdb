package io.github.optlist.reproduce;

import io.github.optlist.search.Trial;
import io.github.optlist.search.tasks.BuiltInTasks;
import io.github.optlist.search.tasks.SearchTask;

import java.util.List;

/**
 * A task of the {@link Reproduce} protocol: a name, a fixed training length, and a {@link Trial} whose objective is
 * a held-out loss (lower is better). Every method runs the trial with the same seed, so a trial that builds its
 * model and data from {@code context.seed()} gives every method the same initialization and batch order.
 *
 * @param name          names the task in the report and its results folder: letters, digits, {@code . _ -}
 * @param protocolSteps training length of every trial of the task, {@code > 0}
 * @param trial         trains once with the context's optimizer and returns the held-out loss
 */
public record ReproduceTask(String name, long protocolSteps, Trial trial) {

    /** Refuses a name that is blank or not a plain file name, a length {@code <= 0}, a null trial. */
    public ReproduceTask {
        if (name == null || !name.matches("[A-Za-z0-9._-]+") || name.startsWith(".")) {
            throw new IllegalArgumentException("task name must be letters, digits, '.', '_' or '-' (not starting"
                    + " with '.'), got '" + name + "'");
        }
        if (protocolSteps <= 0) {
            throw new IllegalArgumentException("protocolSteps of task " + name + " must be > 0, got "
                    + protocolSteps);
        }
        if (trial == null) {
            throw new IllegalArgumentException("trial of task " + name + " must not be null");
        }
    }

    /**
     * A built-in task at its protocol length.
     *
     * @throws IllegalArgumentException if the task maximizes its objective: the protocol scores losses
     */
    public static ReproduceTask of(SearchTask task) {
        if (task.direction() != io.github.optlist.search.Direction.MINIMIZE) {
            throw new IllegalArgumentException("task " + task.name() + " maximizes its objective; the protocol"
                    + " scores a held-out loss");
        }
        return new ReproduceTask(task.name(), task.protocolSteps(), task);
    }

    /** Every built-in task at its protocol length. */
    public static List<ReproduceTask> builtIn() {
        return BuiltInTasks.all().stream().map(ReproduceTask::of).toList();
    }

    /**
     * The built-in tasks called {@code names}, in that order.
     *
     * @throws IllegalArgumentException naming the known tasks if one is unknown
     */
    public static List<ReproduceTask> builtIn(List<String> names) {
        return names.stream().map(n -> of(BuiltInTasks.byName(n.strip()))).toList();
    }
}
