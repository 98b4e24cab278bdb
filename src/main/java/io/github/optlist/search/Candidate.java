package io.github.optlist.search;

import io.github.optlist.ListVariant;
import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one trial tries: a list entry run under a {@link ListVariant}, or a custom {@link NAdamWConfig} under a
 * label of its own. Either way {@link #config()} is the configuration the trial's optimizer really runs.
 *
 * @param label   identifies the trial within a search, unique there: {@code taskset-3} or {@code torch_port-3} for
 *                list entry 3, the given label for a custom configuration
 * @param index   the list index, or {@code -1} for a custom configuration
 * @param variant the variant whose schedule the optimizer follows (for a list entry also whether its Nesterov flag
 *                is applied)
 * @param config  the configuration that runs: {@code OptList.config(index, variant)} for a list entry
 */
public record Candidate(String label, int index, ListVariant variant, NAdamWConfig config) {

    /** The index of a custom configuration, which is no list entry. */
    public static final int CUSTOM = -1;

    /** The labels {@link #listEntry} gives: the variant's name in lower case, a dash, the index. */
    private static final Pattern LIST_ENTRY_LABEL = Pattern.compile("(taskset|torch_port)-(0|[1-9][0-9]{0,9})");

    /**
     * Refuses a blank label, a null variant or configuration, an index that is neither {@link #CUSTOM} nor a list
     * index, a list index whose configuration is not the entry's under {@code variant}, and a label of the form
     * {@link #listEntry} gives ({@code taskset-3}, {@code torch_port-3}) on anything but that entry under that
     * variant: results files tell trials apart by label, so such a label always means that entry.
     */
    public Candidate {
        if (label == null || label.isBlank()) {
            throw new IllegalArgumentException("label must be a non-blank name, got '" + label + "'");
        }
        if (variant == null || config == null) {
            throw new IllegalArgumentException("variant and config must not be null (label '" + label + "')");
        }
        String misnamed = labelContradiction(label, index, variant);
        if (misnamed != null) {
            throw new IllegalArgumentException(misnamed);
        }
        // OptList.config refuses an index outside the list with the message a user sees everywhere else.
        if (index != CUSTOM && !config.equals(OptList.config(index, variant))) {
            throw new IllegalArgumentException("config " + config.name() + " is not list entry " + index
                    + " under " + variant);
        }
    }

    /**
     * What is wrong with {@code label} on a trial of {@code index} under {@code variant}, or null: a label of the
     * form {@code taskset-3} names list entry 3 under {@code TASKSET} and nothing else.
     */
    static String labelContradiction(String label, int index, ListVariant variant) {
        Matcher m = LIST_ENTRY_LABEL.matcher(label);
        if (!m.matches()) {
            return null;
        }
        ListVariant named = ListVariant.valueOf(m.group(1).toUpperCase(Locale.ROOT));
        long entry = Long.parseLong(m.group(2));
        if (entry == index && named == variant) {
            return null;
        }
        return "label '" + label + "' names list entry " + entry + " under " + named + ", not "
                + (index == CUSTOM ? "a custom configuration" : "index " + index) + " under " + variant;
    }

    /** List entry {@code idx} as it runs under {@code variant}, labelled e.g. {@code taskset-3}. */
    public static Candidate listEntry(int idx, ListVariant variant) {
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        return new Candidate(variant.name().toLowerCase() + "-" + idx, idx, variant, OptList.config(idx, variant));
    }

    /**
     * A custom configuration that runs exactly as it says, Nesterov included, with the warm-up length of
     * {@link ListVariant#TASKSET} (irrelevant without warm-up).
     */
    public static Candidate custom(String label, NAdamWConfig config) {
        return custom(label, config, ListVariant.TASKSET);
    }

    /** A custom configuration that runs exactly as it says, with the warm-up length of {@code variant}. */
    public static Candidate custom(String label, NAdamWConfig config, ListVariant variant) {
        return new Candidate(label, CUSTOM, variant, config);
    }

    /** Whether this is a list entry rather than a custom configuration. */
    public boolean isListEntry() {
        return index != CUSTOM;
    }
}
