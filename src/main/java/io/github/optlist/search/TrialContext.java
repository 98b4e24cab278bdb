package io.github.optlist.search;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.OptimizerOptions;
import io.github.optlist.torch.OptimizerSpec;
import io.github.optlist.torch.ParamGroup;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link Trial} gets: the {@link Candidate} it tries (a list index under a variant, or a custom
 * configuration), the training length, the seed, and the optimizer.
 */
public final class TrialContext {

    private final Candidate candidate;
    private final long trainingSteps;
    private final long seed;
    private final DivergenceRule divergence;
    private final SearchListener listener;
    private final Progress progress;
    private final List<TrialResult.LossPoint> curve = new ArrayList<>();
    private final PruningMonitor pruning;
    private double firstLoss = Double.NaN;
    private long reports;

    TrialContext(Candidate candidate, long trainingSteps, long seed, DivergenceRule divergence,
                 SearchListener listener, Progress progress) {
        this(candidate, trainingSteps, seed, divergence, listener, progress,
                new PruningMonitor(PrunerSettings.none(), trainingSteps, List::of));
    }

    /** A context whose reports also go to {@code pruning}, which may stop the trial. */
    TrialContext(Candidate candidate, long trainingSteps, long seed, DivergenceRule divergence,
                 SearchListener listener, Progress progress, PruningMonitor pruning) {
        this.candidate = candidate;
        this.progress = progress;
        this.trainingSteps = trainingSteps;
        this.seed = seed;
        this.divergence = divergence;
        this.listener = listener;
        this.pruning = pruning;
    }

    /** What this trial tries. */
    public Candidate candidate() {
        return candidate;
    }

    /** The list index this trial tries, or {@link Candidate#CUSTOM} ({@code -1}) for a custom configuration. */
    public int index() {
        return candidate.index();
    }

    /**
     * The configuration this trial runs: for a list entry the entry as the trial's {@link ListVariant} runs it
     * ({@code OptList.config(index, variant)}), otherwise the custom configuration.
     */
    public NAdamWConfig config() {
        return candidate.config();
    }

    /** The list variant this trial runs under. */
    public ListVariant variant() {
        return candidate.variant();
    }

    /** The number of training steps, the same for every trial of a search. */
    public long trainingSteps() {
        return trainingSteps;
    }

    /** The search's seed, the same for every trial, so trials differ only in their configuration. */
    public long seed() {
        return seed;
    }

    /**
     * The optimizer of this trial's {@link #config()} over {@code params}, laid out over {@link #trainingSteps()}
     * with the schedule of {@link #variant()}; for a list entry the same as
     * {@code NAdamWCosineDecay.of(OptimizerSpec.forIdx(params, index, trainingSteps, variant, options))} with the
     * default options.
     */
    public NAdamWCosineDecay optimizer(TensorVector params) {
        return NAdamWCosineDecay.of(new OptimizerSpec(List.of(ParamGroup.of(params, candidate.config())),
                trainingSteps, candidate.variant(), OptimizerOptions.DEFAULTS));
    }

    /**
     * Records the training loss of {@code step} for the loss curve, checks the divergence rule, then, when the
     * search prunes ({@link SearchSettings#pruner()}), records the windowed loss there as the trial's intermediate
     * value and asks the pruner whether to go on ({@link PruningMonitor}). Report steps in increasing order from 0;
     * the pruner ignores a step that is not after the last one. Reading the loss to the host costs a
     * synchronization on CUDA: report every few steps there.
     *
     * @throws DivergedException if the loss shows divergence; let it propagate to end the trial
     * @throws PrunedException   if the pruner stops the trial; let it propagate to end the trial
     */
    public void reportLoss(long step, double loss) {
        TrialResult.LossPoint point = new TrialResult.LossPoint(step, loss);
        curve.add(point);
        progress.last = point;
        if (reports == 0) {
            firstLoss = loss;
        }
        listener.trialProgress(candidate.label(), step, trainingSteps, loss);
        String reason = divergence.divergence(firstLoss, loss, reports++);
        if (reason != null) {
            throw new DivergedException("diverged at step " + step + ": " + reason);
        }
        pruning.report(step, loss);
    }

    /** What the trial leaves for the pruner of later trials ({@link PruningMonitor#recordedValues}). */
    PruningMonitor.Values recordedValues() {
        return pruning.recordedValues();
    }

    /** The reported curve, thinned evenly to at most {@link TrialResult#MAX_CURVE_POINTS} points (the last kept). */
    List<TrialResult.LossPoint> curve() {
        int n = curve.size();
        if (n <= TrialResult.MAX_CURVE_POINTS) {
            return List.copyOf(curve);
        }
        List<TrialResult.LossPoint> thinned = new ArrayList<>(TrialResult.MAX_CURVE_POINTS);
        for (int i = 0; i < TrialResult.MAX_CURVE_POINTS; i++) {
            thinned.add(curve.get(TrialResult.thinnedIndex(i, n)));
        }
        return thinned;
    }

    /** The last loss a trial reported, read by its heartbeat thread while the trial's thread trains. */
    static final class Progress {
        private volatile TrialResult.LossPoint last;

        /** The last reported point, or null before the first report. */
        TrialResult.LossPoint last() {
            return last;
        }
    }

    /** Thrown by {@link TrialContext#reportLoss} to stop a trial that diverged; the search records it as DIVERGED. */
    public static final class DivergedException extends RuntimeException {

        private static final long serialVersionUID = 1L;

        /** A divergence with the rule's reason. */
        public DivergedException(String reason) {
            super(reason, null, false, false);
        }
    }

    /**
     * Thrown by {@link TrialContext#reportLoss} to stop a trial the pruner judged hopeless; the search records it as
     * PRUNED, with its last intermediate value as the objective.
     */
    public static final class PrunedException extends RuntimeException {

        private static final long serialVersionUID = 1L;

        private final long step;
        private final double lastValue;

        /** A trial pruned at {@code step} with intermediate value {@code lastValue} there, for {@code reason}. */
        public PrunedException(long step, double lastValue, String reason) {
            super(reason, null, false, false);
            this.step = step;
            this.lastValue = lastValue;
        }

        /** The step the trial was pruned at. */
        public long step() {
            return step;
        }

        /** The trial's intermediate value at that step. */
        public double lastValue() {
            return lastValue;
        }
    }
}
