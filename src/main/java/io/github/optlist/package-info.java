/**
 * The Learned Optimizer List itself, independent of any tensor library: the 1000 NAdamW configurations in order
 * ({@link io.github.optlist.OptList}), their schedule and bias correction. Start with
 * {@link io.github.optlist.torch.TorchOptList} to train LibTorch models with them.
 */
package io.github.optlist;
