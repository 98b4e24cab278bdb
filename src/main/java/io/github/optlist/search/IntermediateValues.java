package io.github.optlist.search;

import java.util.Arrays;

/**
 * One trial's intermediate values, step by step, as Optuna keeps them ({@code trial.intermediate_values}): here the
 * windowed mean of its reported loss ({@link LossWindow}) at each step it reported, steps strictly increasing and
 * {@code >= 0}. Values may be NaN or infinite. Immutable.
 */
public final class IntermediateValues {

    /** No values. */
    public static final IntermediateValues EMPTY = new IntermediateValues(new long[0], new double[0], 0);

    private final long[] steps;
    private final double[] values;
    private final int size;

    /** A view of the first {@code size} entries of arrays whose first {@code size} entries never change. */
    IntermediateValues(long[] steps, double[] values, int size) {
        this.steps = steps;
        this.values = values;
        this.size = size;
    }

    /**
     * The values {@code values[i]} at steps {@code steps[i]}, copied.
     *
     * @throws IllegalArgumentException if an array is null, their lengths differ, a step is negative or the steps are
     *                                  not strictly increasing
     */
    public static IntermediateValues of(long[] steps, double[] values) {
        if (steps == null || values == null) {
            throw new IllegalArgumentException("steps and values must not be null");
        }
        if (steps.length != values.length) {
            throw new IllegalArgumentException("steps and values must have the same length, got " + steps.length
                    + " and " + values.length);
        }
        for (int i = 0; i < steps.length; i++) {
            if (steps[i] < 0 || i > 0 && steps[i] <= steps[i - 1]) {
                throw new IllegalArgumentException("steps must be >= 0 and strictly increasing, got " + steps[i]
                        + " at position " + i + (i > 0 ? " after " + steps[i - 1] : ""));
            }
        }
        return new IntermediateValues(steps.clone(), values.clone(), steps.length);
    }

    /** The number of steps with a value. */
    public int size() {
        return size;
    }

    /** The step of entry {@code i}, {@code 0 <= i < size()}. */
    public long step(int i) {
        return steps[checked(i)];
    }

    /** The value of entry {@code i}, {@code 0 <= i < size()}. */
    public double value(int i) {
        return values[checked(i)];
    }

    /** The entry of {@code step}, or -1 when this trial has no value at that step. */
    public int indexOf(long step) {
        int i = Arrays.binarySearch(steps, 0, size, step);
        return i >= 0 ? i : -1;
    }

    /** The last step with a value, or -1 when there is none. */
    public long lastStep() {
        return size == 0 ? -1 : steps[size - 1];
    }

    /** The value at the last step, or NaN when there is none. */
    public double lastValue() {
        return size == 0 ? Double.NaN : values[size - 1];
    }

    /**
     * The best value over all steps, NaN ignored ({@code numpy.nanmin}, or {@code nanmax} when maximizing); NaN when
     * there is no value or every value is NaN.
     */
    public double best(Direction direction) {
        double best = Double.NaN;
        for (int i = 0; i < size; i++) {
            double v = values[i];
            if (!Double.isNaN(v) && (Double.isNaN(best) || direction.isBetter(v, best))) {
                best = v;
            }
        }
        return best;
    }

    private int checked(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("entry " + i + " of " + size);
        }
        return i;
    }
}
