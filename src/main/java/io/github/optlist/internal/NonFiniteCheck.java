package io.github.optlist.internal;

import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.github.optlist.internal.AtenOps.call;
import static org.bytedeco.pytorch.global.torch.isfinite;
import static org.bytedeco.pytorch.global.torch.ones;
import static org.bytedeco.pytorch.global.torch.zeros;

/**
 * The opt-in check for NaN and infinity in gradients: one multi-tensor call per device and dtype
 * ({@code _amp_foreach_non_finite_check_and_unscale_} with a scale of 1, as torch's {@code GradScaler} calls it,
 * which leaves the gradients' values as they are), then one host synchronization per device to read its flag.
 * The flag and the scale tensors of each device are made once and kept. The operator's CUDA kernel takes float64,
 * float32 and float16 only, so bfloat16 gradients on CUDA are checked with one {@code isfinite(g).all()} per tensor
 * instead, which raises the same flag; {@link #methodFor} makes that choice. Not API: the optimizers of
 * {@code io.github.optlist.torch} and {@code io.github.optlist.distributed} share it.
 */
public final class NonFiniteCheck {

    /** How the gradients of one device and dtype are checked. */
    public enum Method {
        /** One {@code _amp_foreach_non_finite_check_and_unscale_} call for all of them. */
        MULTI_TENSOR_OPERATOR,
        /**
         * One {@code isfinite(g).all()} per gradient, added into the device's flag: a temporary of one byte per
         * element each, where the operator has no kernel for the dtype.
         */
        ISFINITE_PER_TENSOR
    }

    /** Chooses the {@link Method} for a device type and a dtype ({@code DeviceType} and {@code ScalarType} values). */
    @FunctionalInterface
    public interface MethodChooser {
        /** The method for gradients of {@code dtype} on a device of type {@code deviceType}. */
        Method choose(int deviceType, int dtype);
    }

    /** Per device: the flag the check raises ({@code found_inf}) and the scale 1 ({@code inv_scale}). */
    private final Map<DeviceDtype, Tensor[]> flagsByDevice = new HashMap<>();
    private final MethodChooser chooser;

    /** A check that chooses its method with {@link #methodFor}. */
    public NonFiniteCheck() {
        this(NonFiniteCheck::methodFor);
    }

    /** A check that chooses its method with {@code chooser}: tests pretend CPU tensors are on CUDA with it. */
    public NonFiniteCheck(MethodChooser chooser) {
        this.chooser = chooser;
    }

    /**
     * The method for gradients of {@code dtype} on a device of type {@code deviceType}: the multi-tensor operator,
     * except for bfloat16 on CUDA, which the operator's CUDA kernel does not dispatch (it stops with "not implemented
     * for 'BFloat16'"); its CPU kernel takes bfloat16.
     */
    public static Method methodFor(int deviceType, int dtype) {
        if (deviceType == DeviceType.CUDA.value && dtype == ScalarType.BFloat16.value) {
            return Method.ISFINITE_PER_TENSOR;
        }
        return Method.MULTI_TENSOR_OPERATOR;
    }

    /** Whether every defined gradient holds only finite values; null entries are ignored. Call inside a scope. */
    public boolean allFinite(List<Tensor> grads) {
        if (!AtenOps.available()) {
            return allFiniteOneByOne(grads);
        }
        Map<DeviceDtype, List<Tensor>> byDeviceAndDtype = new LinkedHashMap<>();
        for (Tensor grad : grads) {
            if (grad != null) {
                byDeviceAndDtype.computeIfAbsent(DeviceDtype.of(grad), k -> new ArrayList<>()).add(grad);
            }
        }
        Map<DeviceDtype, Tensor[]> used = new LinkedHashMap<>();
        for (Map.Entry<DeviceDtype, List<Tensor>> entry : byDeviceAndDtype.entrySet()) {
            DeviceDtype key = entry.getKey();
            Tensor[] flags = used.computeIfAbsent(key.device(), d -> {
                Tensor[] kept = flagsByDevice.computeIfAbsent(d, code -> newFlags(entry.getValue().get(0)));
                kept[0].zero_();
                return kept;
            });
            if (chooser.choose(key.deviceType(), key.dtype()) == Method.ISFINITE_PER_TENSOR) {
                for (Tensor grad : entry.getValue()) {
                    flags[0].add_(isfinite(grad).all().logical_not());
                }
            } else {
                call(AtenOps.Ops.NON_FINITE_CHECK_AND_UNSCALE_, AtenOps.tensorList(entry.getValue()),
                        new IValue(flags[0]), new IValue(flags[1]));
            }
        }
        for (Tensor[] flags : used.values()) {
            if (flags[0].item_float() != 0) {
                return false;
            }
        }
        return true;
    }

    private static Tensor[] newFlags(Tensor onDevice) {
        TensorOptions options = new TensorOptions(ScalarType.Float).device(new DeviceOptional(onDevice.device()));
        return new Tensor[]{NativeMemory.outliveScope(zeros(new long[]{1}, options)),
                NativeMemory.outliveScope(ones(new long[]{1}, options))};
    }

    /** Without the multi-tensor operator: one reduction per gradient, one synchronization per device. */
    private static boolean allFiniteOneByOne(List<Tensor> grads) {
        Map<DeviceDtype, Tensor> flagPerDevice = new LinkedHashMap<>();
        for (Tensor grad : grads) {
            if (grad == null) {
                continue;
            }
            Tensor finite = isfinite(grad).all();
            Tensor flag = flagPerDevice.putIfAbsent(DeviceDtype.of(grad).device(), finite);
            if (flag != null) {
                flag.logical_and_(finite);
            }
        }
        for (Tensor flag : flagPerDevice.values()) {
            if (!flag.item_bool()) {
                return false;
            }
        }
        return true;
    }

    /** Frees the kept flags. */
    public void release() {
        for (Tensor[] flags : flagsByDevice.values()) {
            NativeMemory.release(flags[0]);
            NativeMemory.release(flags[1]);
        }
        flagsByDevice.clear();
    }
}
