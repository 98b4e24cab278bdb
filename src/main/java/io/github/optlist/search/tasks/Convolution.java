package io.github.optlist.search.tasks;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;

import static org.bytedeco.pytorch.global.torch.thnn_conv2d;
import static org.bytedeco.pytorch.global.torch.zeros;

/**
 * A 1-D or 2-D convolution (stride 1, no padding) with a weight and a bias, computed by LibTorch's im2col and
 * matrix-multiply kernels ({@code thnn_conv2d}) rather than by {@code Conv1dImpl}/{@code Conv2dImpl}.
 *
 * <p>Why not the stock modules: on CPU they hand float32 convolutions of a batch larger than one to oneDNN, and the
 * oneDNN bundled with the presets' LibTorch 2.10 (v3.7.1, kernel {@code jit:avx512_core} on AVX-512 machines) gets the
 * input gradient wrong when the number of output channels is not a multiple of 16 (it pads channels to 16 in its
 * blocked layout). Measured on this project's machine against a plain-Java reference, for 1-D and 2-D alike: with 4
 * or 8 output channels the input gradient was off by about half its size, and NaN in whole channels whenever the
 * memory it was given held NaN bit patterns (depending on what the allocator handed out, hence intermittent); with
 * 16 or 32 output channels, with oneDNN disabled, or with oneDNN limited to AVX2, it agreed to float rounding. The
 * weight gradient and the forward pass were right. These kernels are what LibTorch itself runs with oneDNN disabled,
 * with the backward it defines for them, and give the same results on every machine.
 */
final class Convolution extends org.bytedeco.pytorch.Module {

    private final Tensor weight;
    private final Tensor bias;
    /** The kernel as {@code thnn_conv2d} takes it: height and width, height 1 for a 1-D convolution. */
    private final long[] kernel2d;
    private final boolean oneDimensional;

    /**
     * A convolution from {@code inChannels} to {@code outChannels} with a kernel of {@code {width}} (1-D, inputs
     * {@code [n, c, length]}) or {@code {height, width}} (2-D, inputs {@code [n, c, height, width]}). The weight is
     * registered before the bias, as {@link Training#initialize} expects.
     */
    Convolution(int inChannels, int outChannels, long... kernel) {
        if (kernel.length != 1 && kernel.length != 2) {
            throw new IllegalArgumentException("kernel must have 1 or 2 sizes, got " + kernel.length);
        }
        oneDimensional = kernel.length == 1;
        long[] weightShape = new long[2 + kernel.length];
        weightShape[0] = outChannels;
        weightShape[1] = inChannels;
        System.arraycopy(kernel, 0, weightShape, 2, kernel.length);
        weight = parameter("weight", zeros(weightShape));
        bias = parameter("bias", zeros(outChannels));
        kernel2d = oneDimensional ? new long[]{1, kernel[0]} : kernel.clone();
    }

    /**
     * Registers {@code initial} as parameter {@code name} and returns a handle of its own: {@code register_parameter}
     * returns a reference into the module's parameter table, which dangles once the next registration grows it.
     */
    private Tensor parameter(String name, Tensor initial) {
        return new Tensor(register_parameter(name, initial));
    }

    /** The convolution of {@code input}: {@code [n, in, length]} in 1-D, {@code [n, in, height, width]} in 2-D. */
    Tensor forward(Tensor input) {
        if (oneDimensional) {
            Tensor output = thnn_conv2d(input.unsqueeze(2), weight.unsqueeze(2), kernel2d, new TensorOptional(bias),
                    new long[]{1, 1}, 0, 0);
            return output.squeeze(2);
        }
        return thnn_conv2d(input, weight, kernel2d, new TensorOptional(bias), new long[]{1, 1}, 0, 0);
    }
}
