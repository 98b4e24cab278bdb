package io.github.optlist.distributed;

import io.github.optlist.torch.NativeMemory;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tensors laid out in flat buffers, one per device and dtype up to a byte cap, as DDP's gradient buckets: one
 * collective per bucket instead of one per tensor. The buffers are allocated once and reused.
 */
final class FlatBuckets implements AutoCloseable {

    /** One buffer: the indices of the tensors it holds and a view of the buffer shaped as each. */
    static final class Bucket {
        final Tensor flat;
        final int[] indices;
        final List<Tensor> views;

        Bucket(Tensor flat, int[] indices, List<Tensor> views) {
            this.flat = flat;
            this.indices = indices;
            this.views = views;
        }
    }

    final List<Bucket> buckets = new ArrayList<>();

    /**
     * Buckets for {@code tensors} (in their order, split by device and dtype) holding at most {@code capBytes} each,
     * unless a single tensor is bigger.
     */
    FlatBuckets(List<Tensor> tensors, long capBytes) {
        Map<String, List<List<Integer>>> byKind = new LinkedHashMap<>();
        Map<String, Long> openBytes = new LinkedHashMap<>();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            String kind = t.device().type().value + ":" + t.device().index() + ":" + t.scalar_type().value;
            List<List<Integer>> lists = byKind.computeIfAbsent(kind, k -> new ArrayList<>());
            long bytes = t.numel() * t.element_size();
            if (lists.isEmpty() || (openBytes.get(kind) + bytes > capBytes && !lists.get(lists.size() - 1).isEmpty())) {
                lists.add(new ArrayList<>());
                openBytes.put(kind, 0L);
            }
            lists.get(lists.size() - 1).add(i);
            openBytes.merge(kind, bytes, Long::sum);
        }
        try (PointerScope scope = new PointerScope()) {
            for (List<List<Integer>> lists : byKind.values()) {
                for (List<Integer> members : lists) {
                    long total = 0;
                    for (int i : members) {
                        total += tensors.get(i).numel();
                    }
                    Tensor first = tensors.get(members.get(0));
                    Tensor flat = NativeMemory.outliveScope(first.new_empty(new long[]{total},
                            new TensorOptions(first.scalar_type()).device(
                                    new org.bytedeco.pytorch.DeviceOptional(first.device()))));
                    List<Tensor> views = new ArrayList<>();
                    long offset = 0;
                    int[] indices = new int[members.size()];
                    for (int m = 0; m < members.size(); m++) {
                        Tensor t = tensors.get(members.get(m));
                        indices[m] = members.get(m);
                        views.add(NativeMemory.outliveScope(flat.narrow(0, offset, t.numel()).view(t.shape())));
                        offset += t.numel();
                    }
                    buckets.add(new Bucket(flat, indices, views));
                }
            }
        }
    }

    /** The bytes all buffers take. */
    long bytes() {
        long bytes = 0;
        for (Bucket bucket : buckets) {
            bytes += bucket.flat.numel() * bucket.flat.element_size();
        }
        return bytes;
    }

    @Override
    public void close() {
        for (Bucket bucket : buckets) {
            bucket.views.forEach(NativeMemory::release);
            NativeMemory.release(bucket.flat);
        }
        buckets.clear();
    }
}
