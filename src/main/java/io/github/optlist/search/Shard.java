package io.github.optlist.search;

import io.github.optlist.internal.SettingException;

/**
 * Shard {@code index} of {@code count}: the list indices {@code idx} with {@code idx % count == index}. Any
 * cluster scheduler can run the shards (a Slurm array, a Kubernetes indexed Job); each writes its own results
 * file and {@code report} merges them.
 *
 * @param index which shard, in {@code [0, count)}
 * @param count how many shards, {@code >= 1}
 */
record Shard(int index, int count) {

    /** The whole list, unsharded. */
    public static final Shard ALL = new Shard(0, 1);

    /** Refuses a count below 1 and an index outside {@code [0, count)}. */
    public Shard {
        if (count < 1) {
            throw new SettingException("shard", "count must be >= 1, got " + count);
        }
        if (index < 0 || index >= count) {
            throw new SettingException("shard", "index must be in [0, " + count + "), got " + index);
        }
    }

    /**
     * Parses {@code I/N}, e.g. {@code 2/8}.
     *
     * @throws IllegalArgumentException if the text is not of that form or out of range
     */
    public static Shard parse(String text) {
        String[] parts = text == null ? new String[0] : text.split("/", -1);
        try {
            if (parts.length == 2) {
                return new Shard(Integer.parseInt(parts[0].strip()), Integer.parseInt(parts[1].strip()));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new SettingException("shard", "must look like I/N (e.g. 0/4), got '" + text + "'");
    }

    /** Whether list index {@code idx} (or, for explicit candidates, position {@code idx}) belongs to this shard. */
    public boolean contains(int idx) {
        return idx % count == index;
    }

    /** Whether this is the whole list. */
    public boolean isAll() {
        return count == 1;
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }
}
