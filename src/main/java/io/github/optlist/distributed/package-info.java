/**
 * Training over several processes: joining ranks ({@link io.github.optlist.distributed.TrainingGroup}, started by
 * {@link io.github.optlist.distributed.Launcher} or torchrun), averaging gradients
 * ({@link io.github.optlist.distributed.DataParallel}), and the list's optimizer with its state sharded over the
 * ranks ({@link io.github.optlist.distributed.ZeroRedundancyOptimizer}).
 */
package io.github.optlist.distributed;
