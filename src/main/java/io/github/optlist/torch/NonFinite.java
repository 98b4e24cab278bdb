package io.github.optlist.torch;

import org.bytedeco.pytorch.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.pytorch.global.torch.isfinite;

/** The opt-in check for NaN and infinity in gradients: one host synchronization per device. */
final class NonFinite {

    private NonFinite() {
    }

    /** Whether every defined gradient holds only finite values; null entries are ignored. */
    static boolean allFinite(List<Tensor> grads) {
        Map<String, Tensor> flagPerDevice = new LinkedHashMap<>();
        for (Tensor grad : grads) {
            if (grad == null) {
                continue;
            }
            Tensor finite = isfinite(grad).all();
            Tensor flag = flagPerDevice.putIfAbsent(grad.device().str().getString(), finite);
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
}
