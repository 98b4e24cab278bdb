package io.github.optlist.bench.jmh;

import java.util.ArrayList;
import java.util.List;

/** The parameter shapes of the three models the step benchmark times: one {@code @Param} of {@link StepBenchmark}. */
public enum Shape {
    /** The seed example's MLP: many calls per float, the shape where a step's fixed cost shows. */
    SEED_MLP("MLP 2-256-256-2 (6 tensors)", List.of(new long[]{256, 2}, new long[]{256},
            new long[]{256, 256}, new long[]{256}, new long[]{2, 256}, new long[]{2})),
    /** Many small tensors: the per-tensor cost. */
    STACK_100("50 layers 128×128 (100 tensors)", layers(50, 128, 128)),
    /** 8.4 M floats in 16 tensors: memory-bound, the per-float cost. */
    FLOATS_8M("8 layers 1024×1024 (16 tensors)", layers(8, 1024, 1024));

    private final String label;
    private final List<long[]> shapes;

    Shape(String label, List<long[]> shapes) {
        this.label = label;
        this.shapes = shapes;
    }

    /** The column heading of this model in the ratio tables. */
    public String label() {
        return label;
    }

    /** Each parameter's shape, in order; callers must not change the arrays. */
    List<long[]> shapes() {
        return shapes;
    }

    /** {@code count} linear layers of {@code in} to {@code out}: a weight and a bias each. */
    private static List<long[]> layers(int count, long in, long out) {
        List<long[]> shapes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            shapes.add(new long[]{out, in});
            shapes.add(new long[]{out});
        }
        return List.copyOf(shapes);
    }
}
