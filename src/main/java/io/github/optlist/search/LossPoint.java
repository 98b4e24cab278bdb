package io.github.optlist.search;

/**
 * One point of a trial's loss curve.
 *
 * @param step the training step (0-based)
 * @param loss the training loss reported at that step
 */
public record LossPoint(long step, double loss) {
}
