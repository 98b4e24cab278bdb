package io.github.optlist.search.tasks;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link Convolution} against a plain-Java convolution, forward and input gradient, with 8 output channels and a
 * batch of 16: the case where LibTorch's stock modules, through oneDNN on AVX-512, got the input gradient wrong.
 */
class ConvolutionTest {

    @Test
    void oneDimensionalConvolutionAndItsInputGradientMatchAPlainComputation() {
        check(16, 8, 8, 1, 30, 1, 5);
    }

    @Test
    void twoDimensionalConvolutionAndItsInputGradientMatchAPlainComputation() {
        check(16, 3, 8, 9, 9, 3, 3);
    }

    /** Loss {@code sum(conv(x) * g)}: its input gradient is the transposed convolution of {@code g}. */
    private static void check(int n, int in, int out, int height, int width, int kernelHeight, int kernelWidth) {
        try (PointerScope scope = new PointerScope()) {
            Random random = new Random(42);
            boolean oneDimensional = height == 1;
            Convolution conv = oneDimensional ? new Convolution(in, out, kernelWidth)
                    : new Convolution(in, out, kernelHeight, kernelWidth);
            Training.initialize(conv, random);
            int outHeight = height - kernelHeight + 1;
            int outWidth = width - kernelWidth + 1;
            float[] x = Training.gaussians(random, n * in * height * width, 1);
            float[] g = Training.gaussians(random, n * out * outHeight * outWidth, 1);
            float[] w = values(conv.parameters().get(0));
            float[] b = values(conv.parameters().get(1));
            long[] inShape = oneDimensional ? new long[]{n, in, width} : new long[]{n, in, height, width};
            long[] outShape = oneDimensional ? new long[]{n, out, outWidth} : new long[]{n, out, outHeight, outWidth};
            Tensor input = Tensor.create(x, inShape).requires_grad_(true);
            Tensor output = conv.forward(input);
            output.mul(Tensor.create(g, outShape)).sum().backward();

            double[] expectedOutput = new double[g.length];
            double[] expectedGradient = new double[x.length];
            for (int s = 0; s < n; s++) {
                for (int o = 0; o < out; o++) {
                    for (int r = 0; r < outHeight; r++) {
                        for (int c = 0; c < outWidth; c++) {
                            int at = ((s * out + o) * outHeight + r) * outWidth + c;
                            double sum = b[o];
                            for (int i = 0; i < in; i++) {
                                for (int kr = 0; kr < kernelHeight; kr++) {
                                    for (int kc = 0; kc < kernelWidth; kc++) {
                                        int weight = ((o * in + i) * kernelHeight + kr) * kernelWidth + kc;
                                        int pixel = ((s * in + i) * height + r + kr) * width + c + kc;
                                        sum += w[weight] * x[pixel];
                                        expectedGradient[pixel] += w[weight] * g[at];
                                    }
                                }
                            }
                            expectedOutput[at] = sum;
                        }
                    }
                }
            }
            assertClose(expectedOutput, values(output));
            assertClose(expectedGradient, values(input.grad()));
        }
    }

    private static float[] values(Tensor tensor) {
        Tensor flat = tensor.detach().contiguous().reshape(-1);
        float[] out = new float[(int) flat.numel()];
        try (FloatIndexer indexer = flat.createIndexer()) {
            indexer.get(0, out);
        }
        return out;
    }

    private static void assertClose(double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4 * (1 + Math.abs(expected[i])), "element " + i);
        }
    }
}
