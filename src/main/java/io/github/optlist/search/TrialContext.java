package io.github.optlist.search;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.TorchOptList;
import org.bytedeco.pytorch.TensorVector;

import java.util.ArrayList;
import java.util.List;

/** What a {@link Trial} gets: its list index and configuration, the training length, the seed, the optimizer. */
public final class TrialContext {

    private final int index;
    private final long trainingSteps;
    private final long seed;
    private final ListVariant variant;
    private final DivergenceRule divergence;
    private final SearchListener listener;
    private final List<LossPoint> curve = new ArrayList<>();
    private double firstLoss = Double.NaN;
    private long reports;

    TrialContext(int index, long trainingSteps, long seed, ListVariant variant, DivergenceRule divergence,
                 SearchListener listener) {
        this.index = index;
        this.trainingSteps = trainingSteps;
        this.seed = seed;
        this.variant = variant;
        this.divergence = divergence;
        this.listener = listener;
    }

    /** The list index this trial tries. */
    public int index() {
        return index;
    }

    /** The configuration this trial runs: the entry at that index as the search's {@link ListVariant} runs it. */
    public NAdamWConfig config() {
        return OptList.config(index, variant);
    }

    /** The search's list variant. */
    public ListVariant variant() {
        return variant;
    }

    /** The number of training steps, the same for every trial of a search. */
    public long trainingSteps() {
        return trainingSteps;
    }

    /** The search's seed, the same for every trial, so trials differ only in their configuration. */
    public long seed() {
        return seed;
    }

    /** The optimizer of this trial's list entry over {@code params}, laid out over {@link #trainingSteps()}. */
    public NAdamWCosineDecay optimizer(TensorVector params) {
        return TorchOptList.optimizerForIdx(params, index, trainingSteps, variant);
    }

    /**
     * Records the training loss of {@code step} for the loss curve and checks the divergence rule. Reading the
     * loss to the host costs a synchronization on CUDA: report every few steps there.
     *
     * @throws TrialDivergedException if the loss shows divergence; let it propagate to end the trial
     */
    public void reportLoss(long step, double loss) {
        curve.add(new LossPoint(step, loss));
        if (reports == 0) {
            firstLoss = loss;
        }
        listener.trialProgress(index, step, trainingSteps, loss);
        String reason = divergence.divergence(firstLoss, loss, reports++);
        if (reason != null) {
            throw new TrialDivergedException("diverged at step " + step + ": " + reason);
        }
    }

    /** The reported curve, thinned evenly to at most {@link TrialResult#MAX_CURVE_POINTS} points (the last kept). */
    List<LossPoint> curve() {
        int n = curve.size();
        if (n <= TrialResult.MAX_CURVE_POINTS) {
            return List.copyOf(curve);
        }
        List<LossPoint> thinned = new ArrayList<>(TrialResult.MAX_CURVE_POINTS);
        for (int i = 0; i < TrialResult.MAX_CURVE_POINTS; i++) {
            thinned.add(curve.get((int) ((long) i * (n - 1) / (TrialResult.MAX_CURVE_POINTS - 1))));
        }
        return thinned;
    }
}
