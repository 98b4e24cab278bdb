/**
 * Trying the list's entries in order on a user's training task ({@link io.github.optlist.search.Search}),
 * recording every trial's result as it arrives, resumably and shardable over machines, and picking the best.
 */
package io.github.optlist.search;
