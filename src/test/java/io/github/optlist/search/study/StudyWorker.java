package io.github.optlist.search.study;

import java.util.Map;
import java.util.Optional;

/**
 * A worker process of {@link WorkerProcessTest}: {@code drain URL} pops and completes trials until none waits,
 * printing {@code ran INDEX} for each; {@code hold URL} pops one trial, prints {@code holding INDEX} and waits to be
 * killed.
 */
public final class StudyWorker {

    private StudyWorker() {
    }

    public static void main(String[] args) throws Exception {
        try (StudyDatabase database = StudyDatabase.open(StorageUrl.parse(args[1]))) {
            OptunaStudy study = OptunaStudy.createOrLoad(database, "s", StudyDirection.MINIMIZE,
                    StudyContract.SETTINGS);
            if (args[0].equals("hold")) {
                System.out.println("holding " + study.pop().orElseThrow().index());
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            for (Optional<RunningTrial> trial = study.pop(); trial.isPresent(); trial = study.pop()) {
                study.report(trial.get(), 0, 1.0);
                study.complete(trial.get(), trial.get().index(), Map.of());
                System.out.println("ran " + trial.get().index());
            }
        }
    }
}
