package io.github.optlist;


import java.util.List;

/**
 * The Learned Optimizer List: 1000 NAdamW configurations in the order to try them
 * (Metz, Maheswaranathan, Sun, Freeman, Poole, Sohl-Dickstein 2020, arXiv:2002.11887).
 *
 * <p>Fix the number of training steps, then train with index 0, 1, 2, … and keep the best; fewer than ten
 * tries usually give a good result. The list is read once, on first use, from the packaged list file
 * ({@code list/opt_list.jsonl}, written from the published list by the build's converter).
 */
public final class OptList {

    private OptList() {
    }

    private static final class Holder {
        static final List<NAdamWConfig> CONFIGS = ListFile.readPackaged();
    }

    /** The number of entries, 1000. */
    public static int size() {
        return Holder.CONFIGS.size();
    }

    /**
     * The published entry at {@code idx}, 0 being the first to try, bit for bit as published. What an optimizer
     * runs for it depends on the {@link ListVariant}: see {@link #config(int, ListVariant)}.
     *
     * @throws IllegalArgumentException if {@code idx} is outside {@code [0, size())}
     */
    public static NAdamWConfig config(int idx) {
        if (idx < 0 || idx >= size()) {
            throw new IllegalArgumentException("idx must be in [0, " + size() + "), got " + idx);
        }
        return Holder.CONFIGS.get(idx);
    }

    /**
     * The configuration that list entry {@code idx} runs as under {@code variant}: {@code variant.apply(config(idx))}.
     * Under {@link ListVariant#TASKSET} a Nesterov entry runs without Nesterov, as the list was ranked.
     *
     * @throws IllegalArgumentException if {@code idx} is outside {@code [0, size())} or {@code variant} is null
     */
    public static NAdamWConfig config(int idx, ListVariant variant) {
        if (variant == null) {
            throw new IllegalArgumentException("variant must not be null");
        }
        return variant.apply(config(idx));
    }

    /**
     * The index of the entry called {@code name}, e.g. 0 for {@code nadamw_grid_seed251}.
     *
     * @throws IllegalArgumentException if no entry has that name
     */
    public static int indexOf(String name) {
        for (int i = 0; i < size(); i++) {
            if (Holder.CONFIGS.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no list entry is called '" + name + "'");
    }

    /** All configurations, in list order, as an unmodifiable list. */
    public static List<NAdamWConfig> configs() {
        return Holder.CONFIGS;
    }
}
