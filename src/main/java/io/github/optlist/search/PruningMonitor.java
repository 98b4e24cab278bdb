package io.github.optlist.search;

import java.util.List;
import java.util.function.Supplier;

/**
 * Watches one trial's reported losses for the pruner: turns each into the windowed intermediate value and asks
 * {@link MedianPruner} whether to stop. The same code serves a running search ({@link TrialContext#reportLoss}) and
 * the replay of recorded curves ({@code reproduce}), so both prune alike.
 *
 * <p>The pruner compares training losses, lower being better, whatever the direction of the search's objective.
 */
public final class PruningMonitor {

    private final PrunerSettings settings;
    private final long trainingSteps;
    private final Supplier<List<IntermediateValues>> completed;
    private final LossWindow window;

    /**
     * A monitor of a trial of {@code trainingSteps} steps, which asks {@code completed} for the values of the
     * COMPLETE trials at each check.
     *
     * @throws IllegalArgumentException if an argument is null or {@code trainingSteps <= 0}
     */
    public PruningMonitor(PrunerSettings settings, long trainingSteps, Supplier<List<IntermediateValues>> completed) {
        if (settings == null || completed == null) {
            throw new IllegalArgumentException("settings and completed must not be null");
        }
        if (trainingSteps <= 0) {
            throw new IllegalArgumentException("trainingSteps must be > 0, got " + trainingSteps);
        }
        this.settings = settings;
        this.trainingSteps = trainingSteps;
        this.completed = completed;
        this.window = new LossWindow(settings.windowStepsFor(trainingSteps));
    }

    /**
     * Records the loss of {@code step} and decides whether the trial stops there. A step that gets no intermediate
     * value ({@link LossWindow}) is never a check.
     *
     * @throws TrialPrunedException if the pruner stops the trial at this step, with the windowed value and why
     */
    public void report(long step, double loss) {
        if (!window.accepts(step)) {
            return;
        }
        double value = window.add(step, loss);
        if (!settings.enabled()) {
            return;
        }
        IntermediateValues mine = window.values();
        List<IntermediateValues> done = completed.get();
        if (MedianPruner.shouldPrune(settings, trainingSteps, Direction.MINIMIZE, mine, done)) {
            double median = MedianPruner.medianAt(done, step, settings.minTrials());
            throw new TrialPrunedException(step, value, "pruned at step " + step + ": best windowed loss "
                    + mine.best(Direction.MINIMIZE) + " above the median " + median + " of " + done.size()
                    + " completed trial(s) there");
        }
    }

    /** The trial's intermediate values so far (windowed means), step by step. */
    public IntermediateValues values() {
        return window.values();
    }
}
