package io.github.optlist.search;

/** Whether a trial's objective is a loss (lower is better) or a score (higher is better). */
public enum Direction {
    /** Lower is better, e.g. a validation loss. */
    MINIMIZE,
    /** Higher is better, e.g. an accuracy. */
    MAXIMIZE;

    /** Whether objective {@code a} is strictly better than {@code b}. */
    public boolean isBetter(double a, double b) {
        return this == MINIMIZE ? a < b : a > b;
    }
}
