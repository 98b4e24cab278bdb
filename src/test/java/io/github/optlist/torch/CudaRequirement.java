package io.github.optlist.torch;

import org.bytedeco.javacpp.Loader;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Whether the CUDA tests run, skip, or fail: with {@code -Doptlist.requireCuda=true} (which the {@code cuda} profile
 * sets) a machine without the CUDA devices a test needs fails it with the reason, so that a GPU run cannot pass by
 * skipping everything; without it the test is skipped with the reason.
 */
public final class CudaRequirement {

    /** The system property that turns a skip into a failure. */
    public static final String PROPERTY = "optlist.requireCuda";

    private CudaRequirement() {
    }

    /** Skips (or fails, see the class description) the calling test unless {@code devices} CUDA devices are usable. */
    public static void requireDevices(int devices) {
        String missing = missing(devices);
        if (missing == null) {
            return;
        }
        if (Boolean.getBoolean(PROPERTY)) {
            fail("CUDA is required (-D" + PROPERTY + "=true) but unavailable: " + missing);
        }
        assumeTrue(false, missing);
    }

    /** Why {@code devices} CUDA devices are not usable here, or null when they are. */
    static String missing(int devices) {
        int usable;
        String loadError = null;
        try {
            usable = org.bytedeco.pytorch.global.torch.cuda_is_available()
                    ? org.bytedeco.pytorch.global.torch.cuda_device_count() : 0;
        } catch (RuntimeException | LinkageError e) {
            usable = 0;
            loadError = e.toString();
        }
        if (usable >= devices) {
            return null;
        }
        String platform = Loader.getPlatform();
        if (CudaRequirement.class.getResource("/org/bytedeco/pytorch/" + platform + "-gpu/") == null) {
            return "the CPU build of PyTorch is on the class path (no " + platform + "-gpu natives): build with -Pcuda"
                    + " on a machine with an NVIDIA GPU";
        }
        if (loadError != null) {
            return "the CUDA build of PyTorch cannot load its CUDA libraries (" + loadError + "): see the cuda"
                    + " profile's notes in pom.xml";
        }
        return "the CUDA build is present but " + usable + " CUDA device" + (usable == 1 ? " is" : "s are")
                + " usable, " + devices + " needed (no GPU, or its driver or CUDA libraries are missing)";
    }
}
