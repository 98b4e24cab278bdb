package io.github.optlist.distributed;

import io.github.optlist.torch.ParamGroup;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which rank owns which parameter of a {@link ZeroRedundancyOptimizer}, assigned as torch does: group by group, the
 * parameters from the largest to the smallest each go to the rank that owns the fewest elements so far (the lowest
 * such rank on ties). Parameters are numbered group after group.
 */
final class Ownership {

    private final List<ParamGroup> groups;
    private final int[] owners;
    private final List<List<Tensor>> ownedParams = new ArrayList<>();
    /** Per group that holds a parameter of {@code rank}, that group's owned parameters' numbers. */
    private final List<int[]> localMembers = new ArrayList<>();
    private final List<ParamGroup> localGroups = new ArrayList<>();

    Ownership(List<ParamGroup> groups, int worldSize, int rank) {
        this.groups = List.copyOf(groups);
        this.owners = partition(groups, worldSize);
        List<Tensor> params = new ArrayList<>();
        groups.forEach(g -> params.addAll(g.params()));
        for (int r = 0; r < worldSize; r++) {
            List<Tensor> owned = new ArrayList<>();
            for (int i = 0; i < params.size(); i++) {
                if (owners[i] == r) {
                    owned.add(params.get(i));
                }
            }
            ownedParams.add(owned);
        }
        int next = 0;
        for (ParamGroup g : groups) {
            List<Tensor> owned = new ArrayList<>();
            List<Integer> indices = new ArrayList<>();
            for (Tensor p : g.params()) {
                if (owners[next] == rank) {
                    owned.add(p);
                    indices.add(next);
                }
                next++;
            }
            if (!owned.isEmpty()) {
                localGroups.add(ParamGroup.of(owned, g.config()));
                localMembers.add(indices.stream().mapToInt(Integer::intValue).toArray());
            }
        }
    }

    /** torch's greedy partition: per group, largest first, to the rank with the fewest elements so far. */
    static int[] partition(List<ParamGroup> groups, int worldSize) {
        long[] sizes = new long[worldSize];
        int[] owners = new int[groups.stream().mapToInt(g -> g.params().size()).sum()];
        int base = 0;
        for (ParamGroup g : groups) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < g.params().size(); i++) {
                order.add(i);
            }
            order.sort(Comparator.comparingLong((Integer i) -> g.params().get(i).numel()).reversed());
            for (int i : order) {
                int rank = 0;
                for (int r = 1; r < worldSize; r++) {
                    if (sizes[r] < sizes[rank]) {
                        rank = r;
                    }
                }
                sizes[rank] += g.params().get(i).numel();
                owners[base + i] = rank;
            }
            base += g.params().size();
        }
        return owners;
    }

    /** The owner of parameter number {@code index}. */
    int owner(int index) {
        return owners[index];
    }

    /**
     * The owner of parameter {@code index} of group {@code groupIndex}.
     *
     * @throws IllegalArgumentException if there is no such parameter
     */
    int ownerOf(int groupIndex, int index) {
        if (groupIndex < 0 || groupIndex >= groups.size()) {
            throw new IllegalArgumentException("groupIndex must be in [0, " + groups.size() + "), got " + groupIndex);
        }
        int size = groups.get(groupIndex).params().size();
        if (index < 0 || index >= size) {
            throw new IllegalArgumentException("index must be in [0, " + size + "), got " + index);
        }
        int base = 0;
        for (int g = 0; g < groupIndex; g++) {
            base += groups.get(g).params().size();
        }
        return owners[base + index];
    }

    /** The parameters rank {@code r} owns, in their order. */
    List<Tensor> ownedBy(int r) {
        return ownedParams.get(r);
    }

    /** This rank's groups: each group that holds a parameter it owns, with those parameters only. */
    List<ParamGroup> localGroups() {
        return localGroups;
    }

    /** Per local group, the numbers of its parameters. */
    List<int[]> localMembers() {
        return localMembers;
    }
}
