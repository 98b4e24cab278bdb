package io.github.optlist.torch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The {@link Bucket}s of one group, kept from step to step. Normally every parameter of a group has a gradient at
 * every step and the same step count, so the group is one bucket built once.
 */
final class Buckets {

    private List<Bucket> buckets = List.of();

    /**
     * A bucket for each set of states, in order, reusing the previous step's bucket of the same set; frees the
     * others.
     */
    List<Bucket> forStep(Collection<List<ParamState>> sets) {
        List<Bucket> next = new ArrayList<>(sets.size());
        for (List<ParamState> set : sets) {
            Bucket match = null;
            for (Bucket bucket : buckets) {
                if (bucket.states.equals(set)) {
                    match = bucket;
                    break;
                }
            }
            next.add(match != null ? match : new Bucket(set));
        }
        for (Bucket bucket : buckets) {
            if (!next.contains(bucket)) {
                bucket.release();
            }
        }
        buckets = next;
        return next;
    }

    /** Frees every bucket, e.g. when the state tensors were replaced. */
    void clear() {
        buckets.forEach(Bucket::release);
        buckets = List.of();
    }
}
