/**
 * The list's optimizer for LibTorch tensors in one process: {@link io.github.optlist.torch.NAdamWCosineDecay}
 * (built by {@link io.github.optlist.torch.TorchOptList}), its state, checkpoints and loss scaling, behind the
 * {@link io.github.optlist.torch.ListOptimizer} interface every optimizer of this library implements. The files'
 * formats are written and read in the module's own, unexported {@code io.github.optlist.torch.files}.
 */
package io.github.optlist.torch;
