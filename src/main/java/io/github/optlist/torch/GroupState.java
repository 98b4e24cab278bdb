package io.github.optlist.torch;

import io.github.optlist.NAdamWConfig;

import java.util.List;

/**
 * One parameter group's part of an {@link OptimizerState}: its configuration, its parameters' names (empty when
 * they are unnamed) and per parameter its state, in the group's order.
 *
 * <p>The constructor refuses, with an {@link IllegalArgumentException}, a null component, an empty or null-holding
 * parameter list, and names that are neither empty nor one per parameter.
 *
 * @param config     the configuration the group is optimized with
 * @param paramNames the parameters' names, or an empty list
 * @param params     each parameter's state
 */
public record GroupState(NAdamWConfig config, List<String> paramNames, List<ParamStateDict> params) {

    /** Validates; see the class description. */
    public GroupState {
        if (config == null || paramNames == null || params == null) {
            throw new IllegalArgumentException("config, paramNames and params must not be null");
        }
        if (params.isEmpty() || params.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("a group state needs at least one parameter and no null state");
        }
        if (!paramNames.isEmpty() && paramNames.size() != params.size()) {
            throw new IllegalArgumentException("paramNames has " + paramNames.size() + " names for "
                    + params.size() + " parameters");
        }
        paramNames = List.copyOf(paramNames);
        params = List.copyOf(params);
    }
}
