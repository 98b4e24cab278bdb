package io.github.optlist.distributed;

import io.github.optlist.internal.DeviceDtype;
import io.github.optlist.internal.NativeMemory;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tensors laid out in flat buffers, one per device and dtype up to a byte cap, as DDP's gradient buckets: one
 * collective per buffer instead of one per tensor. The buffers are allocated once and reused.
 */
final class FlatBuffers implements AutoCloseable {

    /** One buffer: the indices of the tensors it holds and a view of the buffer shaped as each. */
    static final class Buffer {
        final Tensor flat;
        final int[] indices;
        final List<Tensor> views;

        Buffer(Tensor flat, int[] indices, List<Tensor> views) {
            this.flat = flat;
            this.indices = indices;
            this.views = views;
        }
    }

    final List<Buffer> buffers = new ArrayList<>();

    /**
     * Buffers for {@code tensors} (in their order, split by device and dtype) holding at most {@code capBytes} each,
     * unless a single tensor is bigger.
     */
    FlatBuffers(List<Tensor> tensors, long capBytes) {
        Map<DeviceDtype, List<List<Integer>>> byKind = new LinkedHashMap<>();
        Map<DeviceDtype, Long> openBytes = new LinkedHashMap<>();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            DeviceDtype kind = DeviceDtype.of(t);
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
                    buffers.add(buffer(tensors, members));
                }
            }
        }
    }

    private static Buffer buffer(List<Tensor> tensors, List<Integer> members) {
        long total = 0;
        for (int i : members) {
            total += tensors.get(i).numel();
        }
        Tensor first = tensors.get(members.get(0));
        Tensor flat = NativeMemory.outliveScope(first.new_empty(new long[]{total},
                new TensorOptions(first.scalar_type()).device(new DeviceOptional(first.device()))));
        List<Tensor> views = new ArrayList<>();
        long offset = 0;
        int[] indices = new int[members.size()];
        for (int m = 0; m < members.size(); m++) {
            Tensor t = tensors.get(members.get(m));
            indices[m] = members.get(m);
            views.add(NativeMemory.outliveScope(flat.narrow(0, offset, t.numel()).view(t.shape())));
            offset += t.numel();
        }
        return new Buffer(flat, indices, views);
    }

    /**
     * Overwrites {@code tensors} (those these buffers were made for) on every rank with rank {@code root}'s, one
     * broadcast per buffer: the root packs them, the others unpack. A collective; a world of one sends nothing.
     *
     * @throws DistributedException if a rank fails or times out
     */
    void broadcast(TrainingGroup group, List<Tensor> tensors, int root) {
        if (group.worldSize() == 1) {
            return;
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            for (Buffer buffer : buffers) {
                if (group.rank() == root) {
                    for (int m = 0; m < buffer.indices.length; m++) {
                        buffer.views.get(m).copy_(tensors.get(buffer.indices[m]));
                    }
                }
                group.broadcast(buffer.flat, root);
                if (group.rank() != root) {
                    for (int m = 0; m < buffer.indices.length; m++) {
                        tensors.get(buffer.indices[m]).copy_(buffer.views.get(m));
                    }
                }
            }
        }
    }

    /** The bytes all buffers take. */
    long bytes() {
        long bytes = 0;
        for (Buffer buffer : buffers) {
            bytes += buffer.flat.numel() * buffer.flat.element_size();
        }
        return bytes;
    }

    @Override
    public void close() {
        for (Buffer buffer : buffers) {
            buffer.views.forEach(NativeMemory::release);
            NativeMemory.release(buffer.flat);
        }
        buffers.clear();
    }
}
