package io.github.optlist.distributed;

/** The c10d communication backend a {@link TrainingGroup} runs on. */
public enum DistributedBackend {
    /** Gloo: tensors on the CPU. Tested on loopback. */
    GLOO,
    /**
     * NCCL: tensors on CUDA devices, one device per rank ({@code LOCAL_RANK}). Needs the {@code -Pcuda} build (the
     * {@code -gpu} natives); built but not verified (no GPU where this was written).
     */
    NCCL
}
