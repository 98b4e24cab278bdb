package io.github.optlist.search;

/**
 * One training run for one {@link Candidate} (a list index, or a custom configuration): builds its own model and
 * data from {@link TrialContext#seed()}, trains
 * for {@link TrialContext#trainingSteps()} with the optimizer from {@link TrialContext#optimizer}, reports its
 * training loss with {@link TrialContext#reportLoss} (for the curve and the divergence rule), and returns its
 * objective, e.g. a validation loss.
 *
 * <p>Trials may run concurrently in several worker threads: a trial must not share tensors or modules with
 * another, and must draw every random number from its own seeded source (not LibTorch's global generator) for a
 * search to give the same results with one worker or many.
 */
@FunctionalInterface
public interface Trial {

    /**
     * Trains and evaluates once.
     *
     * @return the objective; a NaN or infinite one marks the trial failed
     * @throws Exception anything, recorded as the reason the trial failed; the search goes on
     */
    double run(TrialContext context) throws Exception;
}
