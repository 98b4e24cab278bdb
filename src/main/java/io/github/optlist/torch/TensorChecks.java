package io.github.optlist.torch;

import io.github.optlist.internal.DeviceDtype;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.Layout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/** The checks that refuse bad parameters and gradients before any tensor is changed. */
final class TensorChecks {

    private TensorChecks() {
    }

    /** Refuses a tensor the optimizer cannot update in place. */
    static void requireOptimizable(Tensor tensor, String where) {
        if (tensor == null || tensor.isNull()) {
            throw new IllegalArgumentException(where + " is null");
        }
        if (!tensor.defined()) {
            throw new IllegalArgumentException(where + " is an undefined tensor");
        }
        if (!tensor.is_floating_point()) {
            throw new IllegalArgumentException(where + " has dtype " + tensor.scalar_type()
                    + "; only floating-point tensors can be optimized");
        }
        if (!tensor.is_leaf()) {
            throw new IllegalArgumentException(where + " is not a leaf tensor (it is computed from other tensors);"
                    + " optimize the leaves it comes from");
        }
        if (!isStrided(tensor)) {
            throw new IllegalArgumentException(where + " has layout " + tensor.layout() + "; only dense tensors"
                    + " can be optimized");
        }
        if (tensor.is_nested()) {
            throw new IllegalArgumentException(where + " is a nested tensor; only dense tensors can be optimized");
        }
        String overlap = internalOverlap(tensor);
        if (overlap != null) {
            throw new IllegalArgumentException(where + " " + overlap + "; an in-place update would write those"
                    + " elements more than once: optimize a tensor that owns its elements (e.g. .contiguous())");
        }
    }

    /**
     * Why some elements of {@code tensor} may share one memory location, or null if none can: a dimension longer
     * than 1 with stride 0 (an expanded tensor), which ATen's {@code has_internal_overlap} calls certain, or strides
     * that do not nest (sorted by stride, each at least the extent of the dimensions below it), where ATen cannot
     * tell and an in-place update may write an element twice. Dense tensors answer at once from the flag the tensor
     * keeps; the others read sizes and strides one by one, which allocates nothing.
     */
    static String internalOverlap(Tensor tensor) {
        if (tensor.is_non_overlapping_and_dense()) {
            return null;
        }
        int dims = (int) tensor.dim();
        long[] sizes = new long[dims];
        long[] strides = new long[dims];
        for (int i = 0; i < dims; i++) {
            sizes[i] = tensor.size(i);
            strides[i] = tensor.stride(i);
            if (sizes[i] == 0) {
                return null;
            }
        }
        int expanded = expandedDimension(tensor);
        if (expanded >= 0) {
            return "has internal overlap: dimension " + expanded + " has size " + sizes[expanded] + " and stride 0"
                    + " (an expanded tensor)";
        }
        Integer[] order = new Integer[dims];
        for (int i = 0; i < dims; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(strides[a], strides[b]));
        long extent = 0;
        for (int i : order) {
            if (sizes[i] == 1) {
                continue;
            }
            if (strides[i] <= extent) {
                return "may have internal overlap: its strides " + Arrays.toString(strides)
                        + " for sizes " + Arrays.toString(sizes) + " can reach one element twice";
            }
            extent += (sizes[i] - 1) * strides[i];
        }
        return null;
    }

    /** The memory a tensor's elements span, in bytes: {@code [start, end)} on {@code device}. */
    record MemoryRange(DeviceDtype device, long start, long end) {

        /** Whether the two ranges share a byte. */
        boolean overlaps(MemoryRange other) {
            return device.equals(other.device) && start < other.end && other.start < end;
        }
    }

    /**
     * The bytes {@code tensor}'s elements span, from its first element to one past its last; null when it spans
     * none (no elements, or the meta device, which holds no data). Allocates a pointer object: for construction,
     * not for {@code step()}.
     */
    static MemoryRange memoryRange(Tensor tensor) {
        if (tensor.numel() == 0 || tensor.is_meta() || !tensor.has_storage()) {
            return null;
        }
        long last = 0;
        for (int i = 0; i < tensor.dim(); i++) {
            last += (tensor.size(i) - 1) * tensor.stride(i);
        }
        long start = tensor.const_data_ptr().address();
        return new MemoryRange(DeviceDtype.of(tensor).device(), start, start + (last + 1) * tensor.element_size());
    }

    /**
     * Refuses two tensors of {@code tensors} whose memory overlaps (e.g. {@code p} and {@code p.detach()}, or two
     * overlapping slices of one buffer), which the optimizer would update twice, each with the other's state; names
     * them with {@code where}. Compares the spans of the elements, so two views that interleave without sharing an
     * element (every other element of one buffer each) are refused too.
     */
    static void requireNoSharedMemory(List<Tensor> tensors, IntFunction<String> where) {
        List<Integer> order = new ArrayList<>();
        List<MemoryRange> ranges = new ArrayList<>(tensors.size());
        for (int i = 0; i < tensors.size(); i++) {
            MemoryRange range = memoryRange(tensors.get(i));
            ranges.add(range);
            if (range != null) {
                order.add(i);
            }
        }
        order.sort((a, b) -> {
            MemoryRange ra = ranges.get(a);
            MemoryRange rb = ranges.get(b);
            int byDevice = ra.device().deviceType() != rb.device().deviceType()
                    ? Integer.compare(ra.device().deviceType(), rb.device().deviceType())
                    : Integer.compare(ra.device().deviceIndex(), rb.device().deviceIndex());
            return byDevice != 0 ? byDevice : Long.compare(ra.start(), rb.start());
        });
        // Sorted by start, a range overlaps an earlier one exactly when it starts before the furthest earlier end.
        int reaching = -1;
        for (int i : order) {
            if (reaching >= 0 && ranges.get(reaching).overlaps(ranges.get(i))) {
                int first = Math.min(reaching, i);
                int second = Math.max(reaching, i);
                throw new IllegalArgumentException(where.apply(second) + " shares memory with " + where.apply(first)
                        + " (e.g. one is a view or detach() of the other); each would be updated twice: optimize"
                        + " each tensor once");
            }
            if (reaching < 0 || !ranges.get(reaching).device().equals(ranges.get(i).device())
                    || ranges.get(i).end() > ranges.get(reaching).end()) {
                reaching = i;
            }
        }
    }

    /**
     * Refuses a gradient that does not fit its parameter: not dense, not floating point, on another device, or of
     * another shape (the fused kernels trust the sizes: a smaller gradient made them read past its end). Also
     * refuses a parameter whose state was made for another shape, or that now overlaps itself. {@code paramWhere}
     * and {@code gradWhere} are {@link DeviceDtype#of} the two, read once per step by the caller. Reads sizes and
     * strides one by one, which allocates nothing; builds strings only to refuse.
     */
    static void requireGradientFits(ParamState state, Tensor grad, DeviceDtype paramWhere, DeviceDtype gradWhere) {
        Tensor param = state.param;
        requireDenseGradient(grad, state.position);
        if (grad.is_nested()) {
            throw new IllegalArgumentException(state.position + " has a nested gradient; NAdamW needs dense"
                    + " gradients");
        }
        if (!grad.is_floating_point()) {
            throw new IllegalArgumentException(state.position + " has dtype " + param.scalar_type()
                    + " but its gradient " + grad.scalar_type() + "; a gradient must be floating point");
        }
        // Against where the parameter is now (every path would fail part-way otherwise): the state follows a
        // parameter that moved.
        if (!gradWhere.sameDevice(paramWhere)) {
            throw new IllegalArgumentException(state.position + " is on " + param.device().str().getString()
                    + " but its gradient is on " + grad.device().str().getString());
        }
        if (state.initialized() && !state.layout().hasShape(param)) {
            throw new IllegalArgumentException(state.position + " has shape " + shape(param) + " but its state"
                    + " was made for " + Arrays.toString(state.layout().shape()) + " (it was resized after its"
                    + " first update); give the optimizer the tensor's new state with loadStateDict, or build a new"
                    + " optimizer");
        }
        // Against the cached shape when there is one: half the native calls of reading both tensors.
        if (!(state.initialized() ? state.layout().hasShape(grad) : sameShape(param, grad))) {
            throw new IllegalArgumentException(state.position + " has shape " + shape(param) + " but its gradient "
                    + shape(grad));
        }
        String overlap = internalOverlap(param);
        if (overlap != null) {
            throw new IllegalArgumentException(state.position + " " + overlap + " (its data was replaced after"
                    + " the optimizer was built); an in-place update would write those elements more than once");
        }
    }

    /** Whether the two tensors have the same sizes, read one by one. */
    static boolean sameShape(Tensor a, Tensor b) {
        long dims = a.dim();
        if (b.dim() != dims) {
            return false;
        }
        for (int i = 0; i < dims; i++) {
            if (a.size(i) != b.size(i)) {
                return false;
            }
        }
        return true;
    }

    /** The sizes as {@code [2, 3]}, for messages. */
    static String shape(Tensor tensor) {
        long[] sizes = new long[(int) tensor.dim()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = tensor.size(i);
        }
        return Arrays.toString(sizes);
    }

    /**
     * Refuses, before {@code zeroGrad(false)} fills gradients with zeros in place, an expanded gradient (a stride 0),
     * which ATen refuses to write into, part-way through the parameters.
     */
    static void requireZeroableGradient(Tensor grad, String where) {
        int dimension = expandedDimension(grad);
        if (dimension >= 0) {
            throw new IllegalArgumentException(where + " has an expanded gradient (dimension " + dimension
                    + " has stride 0); it cannot be filled with zeros in place: use zeroGrad() (set to none)");
        }
    }

    /** The first dimension longer than 1 with stride 0 (an expanded tensor), or -1; allocates nothing. */
    static int expandedDimension(Tensor tensor) {
        if (tensor.is_non_overlapping_and_dense()) {
            return -1;
        }
        for (int i = 0; i < tensor.dim(); i++) {
            if (tensor.size(i) > 1 && tensor.stride(i) == 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Refuses a list holding the same tensor (the same tensor object, not only the same memory) twice: a list given
     * by hand names each tensor once. A model's repeats (tied weights) are dropped before, by
     * {@link #firstOccurrences}.
     */
    static void requireDistinct(List<Tensor> tensors) {
        Map<Long, Integer> seen = new HashMap<>();
        for (int i = 0; i < tensors.size(); i++) {
            Integer first = seen.putIfAbsent(identity(tensors.get(i)), i);
            if (first != null) {
                throw new IllegalArgumentException("params[" + i + "] is the same tensor as params[" + first
                        + "]; a tensor can be optimized only once: list it once (ParamGroup.of(model.parameters())"
                        + " and NamedParameters drop a model's tied repeats)");
            }
        }
    }

    /**
     * The positions of the tensors of {@code tensors} not seen earlier in the list, in order: each tensor once, at
     * its first place, as Python's {@code model.parameters()} lists a tensor a model holds twice (tied weights).
     * Only the same tensor object counts as seen; a view or {@code detach()} of it is another tensor.
     */
    static List<Integer> firstOccurrences(List<Tensor> tensors) {
        Set<Long> seen = new HashSet<>();
        List<Integer> first = new ArrayList<>(tensors.size());
        for (int i = 0; i < tensors.size(); i++) {
            if (seen.add(identity(tensors.get(i)))) {
                first.add(i);
            }
        }
        return first;
    }

    /** The address of the tensor's implementation: equal for two handles of one tensor. */
    static long identity(Tensor tensor) {
        return tensor.unsafeGetTensorImpl().address();
    }

    /** Whether the tensor is dense; compares values because the presets return fresh enum objects. */
    static boolean isStrided(Tensor tensor) {
        return tensor.layout().value == Layout.Strided.value;
    }

    /** Refuses a gradient the dense update cannot apply. */
    static void requireDenseGradient(Tensor grad, String where) {
        if (!isStrided(grad)) {
            throw new IllegalArgumentException(where + " has a sparse gradient (layout " + grad.layout()
                    + "); NAdamW needs dense gradients, as torch.optim.AdamW does");
        }
    }
}
