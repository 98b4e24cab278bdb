package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;

import java.util.List;

/**
 * One parameter group's part of an {@link OptimizerState}, as an entry of torch's
 * {@code state_dict()["param_groups"]} with its parameters' states: the configuration it runs and, in group order,
 * each parameter's state.
 *
 * <p>The constructor refuses, with an {@link IllegalArgumentException}, a null configuration, null or empty lists
 * of states, a null state, and names that are neither absent (an empty list) nor one per state.
 *
 * @param config     the group's configuration
 * @param paramNames the parameters' names in group order, or an empty list when they are unnamed
 * @param params     the parameters' states in group order
 */
public record GroupState(NAdamWConfig config, List<String> paramNames, List<ParamStateDict> params) {

    /** Validates and copies the lists; see the class description. */
    public GroupState {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        if (params == null || params.isEmpty()) {
            throw new IllegalArgumentException("a group state needs at least one parameter state, got "
                    + (params == null ? "null" : "none"));
        }
        for (int i = 0; i < params.size(); i++) {
            if (params.get(i) == null) {
                throw new IllegalArgumentException("params[" + i + "] is null");
            }
        }
        if (paramNames == null || paramNames.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("paramNames must not be or hold null; pass an empty list for unnamed"
                    + " parameters");
        }
        if (!paramNames.isEmpty() && paramNames.size() != params.size()) {
            throw new IllegalArgumentException("paramNames has " + paramNames.size() + " names for " + params.size()
                    + " parameter states");
        }
        params = List.copyOf(params);
        paramNames = List.copyOf(paramNames);
    }

    /** A group of unnamed parameters. */
    public GroupState(NAdamWConfig config, List<ParamStateDict> params) {
        this(config, List.of(), params);
    }
}
