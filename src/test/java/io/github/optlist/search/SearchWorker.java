package io.github.optlist.search;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A search worker in a process of its own, for {@link SearchWorkerProcessTest}: runs the search of {@link #SETTINGS}
 * on the SQLite study named in {@code args[0]}, writing its exports to {@code args[1]}. Each trial prints
 * {@code trial IDX} when it starts training, then trains 12 steps of 150 ms.
 */
final class SearchWorker {

    static final SearchSettings SETTINGS = SearchSettings.builder("kill", 12, 4)
            .divergence(DivergenceRule.NON_FINITE_ONLY).build();

    private SearchWorker() {
    }

    static Study study(String storage) {
        return new Study(storage, "kill", Duration.ofSeconds(1), Duration.ofSeconds(2), 3);
    }

    public static void main(String[] args) throws Exception {
        Trial slow = context -> {
            System.out.println("trial " + context.index());
            System.out.flush();
            for (long step = 0; step < context.trainingSteps(); step++) {
                Thread.sleep(150);
                context.reportLoss(step, 1.0 / (step + 1));
            }
            return 0.5 + context.index();
        };
        Search.run(SETTINGS, slow, study(args[0]), Path.of(args[1]), SearchListener.NONE);
        System.out.println("done");
    }
}
