package io.github.optlist.internal;

import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
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
 * The flag and the scale tensors of each device are made once and kept. Not API: the optimizers of
 * {@code io.github.optlist.torch} and {@code io.github.optlist.distributed} share it.
 */
public final class NonFiniteCheck {

    /** Per device: the flag the check raises ({@code found_inf}) and the scale 1 ({@code inv_scale}). */
    private final Map<DeviceDtype, Tensor[]> flagsByDevice = new HashMap<>();

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
            Tensor[] flags = used.computeIfAbsent(entry.getKey().device(), d -> {
                Tensor[] kept = flagsByDevice.computeIfAbsent(d, code -> newFlags(entry.getValue().get(0)));
                kept[0].zero_();
                return kept;
            });
            call(AtenOps.Ops.NON_FINITE_CHECK_AND_UNSCALE_, AtenOps.tensorList(entry.getValue()),
                    new IValue(flags[0]), new IValue(flags[1]));
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
