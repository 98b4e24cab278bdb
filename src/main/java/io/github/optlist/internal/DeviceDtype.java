package io.github.optlist.internal;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.DeviceType;

/**
 * Where a tensor lives and what it holds, as plain numbers compared without native objects: the key that groups
 * tensors for one multi-tensor call, one non-finite check or one flat buffer. Not API.
 *
 * @param deviceType  the {@code DeviceType} value, e.g. {@code DeviceType.CPU.value}
 * @param deviceIndex the device index, {@code -1} for the CPU
 * @param dtype       the {@code ScalarType} value, or {@link #ANY_DTYPE} for a key of the device alone
 */
public record DeviceDtype(int deviceType, int deviceIndex, int dtype) {

    /** The dtype of a key that names a device only. */
    public static final int ANY_DTYPE = -1;

    /**
     * The key of {@code tensor}. CPU and CUDA tensors are read with calls that return plain values (a
     * {@code Device} object costs microseconds to make and free, per tensor and step); other devices through
     * their {@code Device}.
     */
    public static DeviceDtype of(Tensor tensor) {
        int dtype = tensor.scalar_type().value;
        if (tensor.is_cpu()) {
            return new DeviceDtype(DeviceType.CPU.value, -1, dtype);
        }
        if (tensor.is_cuda()) {
            return new DeviceDtype(DeviceType.CUDA.value, tensor.unsafeGetTensorImpl().get_device(), dtype);
        }
        try (Device device = tensor.device()) {
            return new DeviceDtype(device.type().value, device.index(), dtype);
        }
    }

    /** This key's device with any dtype. */
    public DeviceDtype device() {
        return dtype == ANY_DTYPE ? this : new DeviceDtype(deviceType, deviceIndex, ANY_DTYPE);
    }

    /** Whether {@code other} is on the same device, whatever its dtype. */
    public boolean sameDevice(DeviceDtype other) {
        return deviceType == other.deviceType && deviceIndex == other.deviceIndex;
    }
}
