package io.github.optlist.search.tasks;

import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.pytorch.global.torch.relu;

/** A multilayer perceptron with ReLUs between its linear layers. */
final class Mlp extends org.bytedeco.pytorch.Module {

    private final List<LinearImpl> layers = new ArrayList<>();

    /** Layers of the given widths, e.g. {@code 2, 256, 256, 2}. */
    Mlp(int... widths) {
        for (int i = 0; i + 1 < widths.length; i++) {
            layers.add(register_module("fc" + i, new LinearImpl(widths[i], widths[i + 1])));
        }
    }

    /** The output for inputs {@code [n, widths[0]]}: ReLU after every layer but the last. */
    Tensor forward(Tensor x) {
        Tensor h = x;
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(h);
            if (i + 1 < layers.size()) {
                h = relu(h);
            }
        }
        return h;
    }
}
