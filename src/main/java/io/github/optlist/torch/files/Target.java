package io.github.optlist.torch.files;

import io.github.optlist.NAdamWConfig;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

/**
 * One parameter group of the optimizer a state is written from or read for, as the formats see it: its parameters
 * (their shapes and dtypes), its configuration, and its parameters' names (empty when unnamed); what
 * {@code io.github.optlist.torch.ParamGroup} holds, already checked there.
 *
 * @param params the parameters, in group order
 * @param config the group's configuration
 * @param names  the parameters' names in group order, or an empty list
 */
public record Target(List<Tensor> params, NAdamWConfig config, List<String> names) {

    /** Copies the lists. */
    public Target {
        params = List.copyOf(params);
        names = List.copyOf(names);
    }

    /** Whether the parameters have names. */
    public boolean isNamed() {
        return !names.isEmpty();
    }
}
