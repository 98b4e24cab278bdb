/**
 * The {@code opt-list} command line ({@code bin/opt-list}): browsing the list, showing an entry's schedule,
 * searching a built-in task, launching ranks, and measuring the list against random search and Adam.
 */
package io.github.optlist.cli;
