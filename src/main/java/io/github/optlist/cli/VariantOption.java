package io.github.optlist.cli;

import io.github.optlist.ListVariant;
import picocli.CommandLine.Option;

/** The {@code --variant} option of the commands that run or show list entries; a picocli mixin. */
final class VariantOption {

    @Option(names = "--variant", defaultValue = "TASKSET", description = "Published code to run the entries as:"
            + " TASKSET (ranked the list: min warm-up, no Nesterov) or TORCH_PORT (PyTorch/JAX bindings: max"
            + " warm-up, Nesterov as the entry says) (default: ${DEFAULT-VALUE}).")
    ListVariant variant;
}
