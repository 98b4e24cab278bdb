package io.github.optlist.reproduce;

import io.github.optlist.reproduce.ReproduceResult.Method;
import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.search.Candidate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * The candidates of the {@link Reproduce} protocol, the same on every task, each with the {@link Method} it stands
 * for and its rank within the method (list index, draw order in the pool, position in the Adam grid).
 *
 * @param init    the learning-rate-0 trial that measures {@code L0}
 * @param planned every candidate trained, {@link #init} first
 * @param slots   every trial of the report, in report order: a list entry identical under both variants appears
 *                under both, trained once
 */
record Protocol(Candidate init, List<Candidate> planned, List<Slot> slots) {

    /** Indices the pool is drawn from: {@code 10..999}. */
    static final int POOL_RANGE = 990;

    /** The Adam grid's learning rates, as written in the report. */
    static final List<String> ADAM_GRID = List.of("1e-4", "3e-4", "1e-3", "3e-3", "1e-2");

    /** The usual Adam default, a point of the grid. */
    static final String ADAM_DEFAULT = "1e-3";

    /**
     * One trial of the report.
     *
     * @param method     what it stands for
     * @param rank       list index, pool draw order, or grid position
     * @param candidate  what was trained for it
     * @param reusedFrom when the trial of another slot serves this one (a list entry identical under both
     *                   variants): that slot's label; else empty
     */
    record Slot(Method method, int rank, Candidate candidate, String reusedFrom) {
    }

    /**
     * Adam as a custom configuration: betas 0.9/0.999, epsilon 1e-8, no Nesterov, no decay, no warm-up, constant
     * fraction 1, bias correction on. Its epsilon is "epsilon hat", added to {@code sqrt(v)} with the bias
     * correction folded into the step size; {@code torch.optim.Adam} adds it to the bias-corrected
     * {@code sqrt(v_hat)} instead, which differs only where {@code sqrt(v)} is of the order of epsilon. The one place
     * the protocol builds it.
     */
    static NAdamWConfig adam(double learningRate, String name) {
        return new NAdamWConfig(name, learningRate, 0.9, 0.999, 1e-8, false, 0.0, 0.0, 0.0, 1.0, 1.0, true);
    }

    /** The label of the Adam trial at learning rate {@code lr} as written in {@link #ADAM_GRID}. */
    static String adamLabel(String lr) {
        return "adam-lr" + lr;
    }

    /** The pool: {@code size} distinct indices of {@code 10..999}, a seeded shuffle's first ones, in draw order. */
    static List<Integer> pool(int size, long seed) {
        List<Integer> all = new ArrayList<>(IntStream.range(Reproduce.K, Reproduce.K + POOL_RANGE).boxed().toList());
        Collections.shuffle(all, new Random(seed));
        return List.copyOf(all.subList(0, size));
    }

    /**
     * Whether list entry {@code idx} runs the same update under both variants: same configuration (no Nesterov)
     * and same warm-up length (none, or warm-up fraction equal to the constant fraction).
     */
    static boolean sameUnderBothVariants(int idx) {
        NAdamWConfig taskset = OptList.config(idx, ListVariant.TASKSET);
        NAdamWConfig torch = OptList.config(idx, ListVariant.TORCH_PORT);
        return taskset.equals(torch)
                && ListVariant.TASKSET.warmupFraction(taskset) == ListVariant.TORCH_PORT.warmupFraction(torch);
    }

    /** The protocol of {@code settings}. */
    static Protocol of(ReproduceSettings settings) {
        Candidate init = Candidate.custom("init-lr0", adam(0.0, "init (learning rate 0)"));
        List<Candidate> planned = new ArrayList<>();
        List<Slot> slots = new ArrayList<>();
        planned.add(init);
        slots.add(new Slot(Method.INIT, 0, init, ""));
        for (int i = 0; i < Reproduce.K; i++) {
            Candidate c = Candidate.listEntry(i, ListVariant.TASKSET);
            planned.add(c);
            slots.add(new Slot(Method.LIST_TASKSET, i, c, ""));
        }
        for (int i = 0; i < Reproduce.K; i++) {
            if (sameUnderBothVariants(i)) {
                Candidate same = Candidate.listEntry(i, ListVariant.TASKSET);
                slots.add(new Slot(Method.LIST_TORCH_PORT, i, same, same.label()));
            } else {
                Candidate c = Candidate.listEntry(i, ListVariant.TORCH_PORT);
                planned.add(c);
                slots.add(new Slot(Method.LIST_TORCH_PORT, i, c, ""));
            }
        }
        List<Integer> pool = pool(settings.poolSize(), settings.poolSeed());
        for (int r = 0; r < pool.size(); r++) {
            Candidate c = Candidate.listEntry(pool.get(r), ListVariant.TASKSET);
            planned.add(c);
            slots.add(new Slot(Method.RANDOM, r, c, ""));
        }
        for (int g = 0; g < ADAM_GRID.size(); g++) {
            String lr = ADAM_GRID.get(g);
            Candidate c = Candidate.custom(adamLabel(lr), adam(Double.parseDouble(lr), "adam lr " + lr));
            planned.add(c);
            slots.add(new Slot(Method.ADAM, g, c, ""));
        }
        return new Protocol(init, List.copyOf(planned), List.copyOf(slots));
    }
}
