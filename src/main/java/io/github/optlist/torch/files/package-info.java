/**
 * The optimizer's files, not exported: its checkpoint (LibTorch's archive, {@link
 * io.github.optlist.torch.files.Checkpoints}) and the Python binding's {@code torch.save(opt.state_dict())} file
 * ({@link io.github.optlist.torch.files.PythonStateDicts}), written and read here by one reader that trusts nothing
 * in a file ({@link io.github.optlist.torch.files.TorchFile}: zip checks, a pickle reader that runs nothing), and
 * which saved parameter's state goes to which parameter ({@link io.github.optlist.torch.files.StateMatching}).
 *
 * <p>Why the formats see the state as plain values ({@link io.github.optlist.torch.files.FileState},
 * {@link io.github.optlist.torch.files.Target}, {@link io.github.optlist.torch.files.Precision}) and throw their own
 * {@link io.github.optlist.torch.files.RefusedFileException}: the optimizer's public {@code save} and {@code load}
 * must call them, so {@code io.github.optlist.torch} imports this package, and this package importing the
 * optimizer's state values back would make a cycle. The arrow runs one way only ({@code ArchitectureTest} checks it):
 * this package imports the core's values ({@code NAdamWConfig}, {@code ListVariant}) and {@code internal}, and the
 * optimizer's package converts to and from its state values and {@code CheckpointException} in
 * {@code CheckpointFiles}.
 */
package io.github.optlist.torch.files;
