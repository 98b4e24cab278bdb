package io.github.optlist.reproduce;

/** What a trial of the {@link Reproduce} protocol stands for. */
public enum Method {
    /** The initialization, trained with learning rate 0: its held-out loss is the task's {@code L0}. */
    INIT,
    /** List entries 0–9 in order, as TaskSet ranked them ({@code ListVariant.TASKSET}). */
    LIST_TASKSET,
    /** List entries 0–9 in order, as the PyTorch and JAX bindings run them ({@code ListVariant.TORCH_PORT}). */
    LIST_TORCH_PORT,
    /** The random-search pool: entries drawn from indices 10..999, under {@code TASKSET}. */
    RANDOM,
    /** Adam at one learning rate of the grid {1e-4, 3e-4, 1e-3, 3e-3, 1e-2}. */
    ADAM
}
