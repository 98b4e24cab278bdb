/**
 * The training tasks that ship with opt-list for searches and for the reproduction: deterministic, generated in
 * memory, no downloads ({@link io.github.optlist.search.tasks.BuiltInTasks}).
 */
package io.github.optlist.search.tasks;
