package io.github.optlist.search.tasks;

import io.github.optlist.search.Direction;
import io.github.optlist.search.Trial;

/** A named, self-contained training task a search can run: a {@link Trial} with a description of its objective. */
public interface SearchTask extends Trial {

    /** The name used on the command line, e.g. {@code seed-mlp}. */
    String name();

    /** One line on the model, the data and the objective. */
    String description();

    /**
     * The fixed training length the reproduce protocol uses for this task: long enough for a sensible optimizer to
     * make clear progress, short enough that a trial at that length takes at most about 1.5 s on one core.
     */
    long protocolSteps();

    /** Whether lower or higher objectives are better. */
    default Direction direction() {
        return Direction.MINIMIZE;
    }
}
