package io.github.optlist.torch.files;

import io.github.optlist.NAdamWConfig;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which saved parameter's state goes to which parameter of an optimizer, for {@code OptimizerState.fittedTo} and
 * {@link Checkpoints#load}. When every saved parameter and every parameter of the optimizer has a name, by name,
 * within and across groups: the saved {@code "fc1.weight"} goes to this optimizer's {@code "fc1.weight"} wherever
 * it sits, provided its saved group's configuration equals the one of the group it is in now. Otherwise (either side
 * has a parameter without a name) by position, as before parameters had names.
 */
public final class StateMatching {

    /**
     * Where a parameter's state sits in the saved layout.
     *
     * @param group the saved group
     * @param index the parameter's position in that group
     */
    public record Source(int group, int index) {
    }

    private StateMatching() {
    }

    /**
     * Whether both sides name every parameter, so that they are matched by name: every saved group (given as its
     * names, empty when unnamed, or null when its names were not saved) and every target group is named.
     */
    public static boolean byName(List<List<String>> savedNames, List<Target> targets) {
        return savedNames.stream().allMatch(names -> names != null && !names.isEmpty())
                && targets.stream().allMatch(Target::isNamed);
    }

    /**
     * For each target group and parameter, the saved parameter of the same name. {@code what} names the saved side
     * in messages ({@code "the checkpoint"}, {@code "the state"}). Call only when {@link #byName} holds.
     *
     * @throws IllegalArgumentException if a name occurs twice on one side, the name sets differ (naming the first
     *                                  saved name this model lacks and the first of this model's names not saved),
     *                                  or a parameter's saved group has another configuration than its group here
     */
    public static List<List<Source>> match(List<List<String>> savedNames, List<NAdamWConfig> savedConfigs,
                                           List<Target> targets, String what) {
        Map<String, Source> saved = new HashMap<>();
        List<String> savedOrder = new ArrayList<>();
        for (int g = 0; g < savedNames.size(); g++) {
            for (int i = 0; i < savedNames.get(g).size(); i++) {
                String name = savedNames.get(g).get(i);
                if (saved.putIfAbsent(name, new Source(g, i)) != null) {
                    throw new IllegalArgumentException(what + " names two parameters '" + name + "'");
                }
                savedOrder.add(name);
            }
        }
        Set<String> here = new HashSet<>();
        List<String> hereOrder = new ArrayList<>();
        for (Target target : targets) {
            for (String name : target.names()) {
                if (!here.add(name)) {
                    throw new IllegalArgumentException("this optimizer names two parameters '" + name + "'");
                }
                hereOrder.add(name);
            }
        }
        String lacking = savedOrder.stream().filter(name -> !here.contains(name)).findFirst().orElse(null);
        String unsaved = hereOrder.stream().filter(name -> !saved.containsKey(name)).findFirst().orElse(null);
        if (lacking != null || unsaved != null) {
            String first = lacking != null ? what + " has '" + lacking + "' which this model lacks" : null;
            String second = unsaved != null ? "this model's '" + unsaved + "' is not in " + what : null;
            throw new IllegalArgumentException((first == null ? second : second == null ? first
                    : first + ", and " + second) + " (parameters are matched by name; renamed or another model?)");
        }
        List<List<Source>> sources = new ArrayList<>(targets.size());
        for (int g = 0; g < targets.size(); g++) {
            Target target = targets.get(g);
            List<Source> group = new ArrayList<>(target.names().size());
            for (String name : target.names()) {
                Source source = saved.get(name);
                NAdamWConfig config = savedConfigs.get(source.group());
                if (!config.equals(target.config())) {
                    throw new IllegalArgumentException("'" + name + "' is in a group with config " + config + " in "
                            + what + ", in group " + g + " with config " + target.config() + " here");
                }
                group.add(source);
            }
            sources.add(List.copyOf(group));
        }
        return List.copyOf(sources);
    }

    /** How messages name parameter {@code i} of target group {@code g}: by name, when it has one. */
    public static String where(Target target, int g, int i) {
        return target.isNamed() ? "'" + target.names().get(i) + "' (params[" + i + "] of group " + g + ")"
                : "params[" + i + "] of group " + g;
    }
}
