package io.github.optlist.search.study;

/** Whether a study minimizes or maximizes its objective, as Optuna's {@code StudyDirection} (one objective). */
public enum StudyDirection {
    /** Lower is better. */
    MINIMIZE,
    /** Higher is better. */
    MAXIMIZE
}
