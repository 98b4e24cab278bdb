/**
 * The search's study in a database every worker shares, in Optuna's RDB schema: SQLite for one machine, PostgreSQL
 * for many, both through JDBC. A study made here opens in Optuna ({@code optuna.load_study}) and optuna-dashboard,
 * and a study Optuna made is joined here. Framework-free: no LibTorch, no other package of the project but the core
 * and {@code internal}. Not exported by the module: the search and the command line are its users.
 */
package io.github.optlist.search.study;
