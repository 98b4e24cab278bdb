package io.github.optlist.torch;

import io.github.optlist.examples.MlpRegressionExample;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ExampleTest {

    @Test
    void publishedExampleLossFallsWithListEntryZero() {
        double[] losses = MlpRegressionExample.train(0, 200, 0);
        double start = Arrays.stream(losses, 0, 5).average().orElseThrow();
        double end = Arrays.stream(losses, 180, 200).average().orElseThrow();
        assertTrue(Arrays.stream(losses).allMatch(Double::isFinite));
        assertTrue(end < 0.3 * start, "loss fell only from " + start + " to " + end);
    }
}
