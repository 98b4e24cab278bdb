package io.github.optlist.reproduce;

import io.github.optlist.reproduce.ReproduceResult.TaskScores;
import io.github.optlist.Examples;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReproduceOwnTaskExampleTest {

    @TempDir
    Path dir;

    @Test
    void ownTaskRunsThroughTheProtocolAndTrainingLowersItsHeldOutLoss() throws Exception {
        ReproduceResult result = (ReproduceResult) Examples.call("ReproduceOwnTaskExample", "run", dir, true);
        TaskScores rings = result.tasks().get(0);
        assertEquals("rings", rings.task());
        assertTrue(rings.scored(), rings.note());
        assertTrue(rings.bestLoss() < rings.initialLoss(), rings.bestLoss() + " vs L0 " + rings.initialLoss());
        assertTrue(Files.readString(dir.resolve("summary.md")).contains("`rings`"));
    }
}
