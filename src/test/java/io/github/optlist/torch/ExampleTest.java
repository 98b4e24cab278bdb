package io.github.optlist.torch;

import io.github.optlist.Examples;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ExampleTest {

    @Test
    void publishedExampleLossFallsWithListEntryZero() throws Exception {
        double[] losses = (double[]) Examples.call("MlpRegressionExample", "train", 0, 200, 0L);
        double start = Arrays.stream(losses, 0, 5).average().orElseThrow();
        double end = Arrays.stream(losses, 180, 200).average().orElseThrow();
        assertTrue(Arrays.stream(losses).allMatch(Double::isFinite));
        assertTrue(end < 0.3 * start, "loss fell only from " + start + " to " + end);
    }
}
