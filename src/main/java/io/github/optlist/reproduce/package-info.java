/**
 * The measurement of the paper's claim: the list's first entries against random search over the same
 * configurations and against Adam, on held-out loss, with its table, plot and summary
 * ({@link io.github.optlist.reproduce.Reproduce}).
 */
package io.github.optlist.reproduce;
