package io.github.optlist.search;

import io.github.optlist.ListVariant;
import io.github.optlist.internal.Version;

/**
 * The first line of a results file: what the results are comparable on. Resuming into a file whose header differs
 * in anything but the shard is refused; merging files whose headers differ in anything but the shard too.
 *
 * @param format           always {@value #FORMAT}
 * @param task             the task's name
 * @param trainingSteps    training length of every trial
 * @param seed             seed of every trial
 * @param direction        whether lower or higher objectives are better
 * @param divergenceFactor the divergence rule's factor
 * @param divergenceGrace  the divergence rule's grace
 * @param variant          the list variant of the search's list indices; a search over explicit {@link Candidate}s
 *                         records its default here and each trial's own in {@link TrialResult#variant()}
 * @param shard            which shard wrote the file, {@code I/N}
 * @param codeVersion      the opt-list version that wrote it
 */
record ResultsHeader(String format, String task, long trainingSteps, long seed, Direction direction,
                            double divergenceFactor, long divergenceGrace, ListVariant variant, String shard,
                            String codeVersion) {

    /**
     * The format name of results files. Format 2 since the list variants became exact: a format 1 folder's
     * {@code TASKSET} trials applied the entries' Nesterov flag, so they are not comparable with today's.
     */
    public static final String FORMAT = "opt-list-search/2";

    /** The header of a search with these settings, run by this code version. */
    public static ResultsHeader of(SearchSettings s) {
        return new ResultsHeader(FORMAT, s.task(), s.trainingSteps(), s.seed(), s.direction(),
                s.divergence().factor(), s.divergence().graceSteps(), s.variant(), Shard.ALL.toString(),
                Version.get());
    }

    /** This header for another shard. */
    public ResultsHeader withShard(Shard newShard) {
        return new ResultsHeader(format, task, trainingSteps, seed, direction, divergenceFactor, divergenceGrace,
                variant, newShard.toString(), codeVersion);
    }

    /** What differs between this header and {@code other}, ignoring the shard; empty when they agree. */
    public String differences(ResultsHeader other) {
        String besides = differencesBesidesVersion(other);
        StringBuilder out = new StringBuilder(besides);
        compare(out, "codeVersion", codeVersion, other.codeVersion);
        return out.toString();
    }

    /**
     * What differs between this header and {@code other}, ignoring the shard and the code version; empty when they
     * agree: the settings that make two searches' objectives comparable.
     */
    String differencesBesidesVersion(ResultsHeader other) {
        StringBuilder out = new StringBuilder();
        compare(out, "format", format, other.format);
        compare(out, "task", task, other.task);
        compare(out, "trainingSteps", trainingSteps, other.trainingSteps);
        compare(out, "seed", seed, other.seed);
        compare(out, "direction", direction, other.direction);
        compare(out, "divergenceFactor", divergenceFactor, other.divergenceFactor);
        compare(out, "divergenceGrace", divergenceGrace, other.divergenceGrace);
        compare(out, "variant", variant, other.variant);
        return out.toString();
    }

    private static void compare(StringBuilder out, String field, Object mine, Object theirs) {
        if (!String.valueOf(mine).equals(String.valueOf(theirs))) {
            out.append(out.isEmpty() ? "" : ", ").append(field).append(' ').append(mine).append(" vs ").append(theirs);
        }
    }
}
