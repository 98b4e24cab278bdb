package io.github.optlist.search.tasks;

import io.github.optlist.search.Direction;
import io.github.optlist.search.Trial;

/** A named, self-contained training task a search can run: a {@link Trial} with a description of its objective. */
public interface SearchTask extends Trial {

    /** The name used on the command line, e.g. {@code seed-mlp}. */
    String name();

    /** One line on the model, the data and the objective. */
    String description();

    /** Whether lower or higher objectives are better. */
    default Direction direction() {
        return Direction.MINIMIZE;
    }

    /**
     * The task's fixed training length in the {@code reproduce} protocol, chosen so one trial takes at most about
     * 1.5 s on one CPU core; 300 unless the task says otherwise.
     */
    default long protocolSteps() {
        return 300;
    }
}
