package io.github.optlist.distributed;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static io.github.optlist.distributed.TrainingGroup.KEY_PREFIX;
import static io.github.optlist.distributed.TrainingGroup.REPORT_WINDOW_MILLIS;
import static io.github.optlist.distributed.TrainingGroup.seconds;
import static io.github.optlist.distributed.TrainingGroup.sleepQuietly;

/**
 * Who stopped answering when a collective of a {@link TrainingGroup} timed out: the rank records its failure in the
 * store and waits a short window for the others to record theirs; those that do not are named in its error and
 * reported to {@link Launcher} (through the folder {@link TrainingGroup#REPORTS_ENV} names).
 */
final class FailureReports {

    private final Store store;
    private final GroupSettings settings;

    FailureReports(Store store, GroupSettings settings) {
        this.store = store;
        this.settings = settings;
    }

    /**
     * The end of a timed-out rank's error message naming the ranks that stopped answering; waits up to the report
     * window for the others. Breaks the store's timeout: call it only on a broken group.
     */
    String whoStopped() {
        return describeMissing(missingRanks());
    }

    /** The ranks that stopped answering, as found by {@link #missingRanks()}. */
    private String describeMissing(List<Integer> missing) {
        if (missing == null) {
            return settings.rank() == 0 ? "; cannot tell which rank stopped answering (the rendezvous store fails)"
                    : "; the rendezvous store on rank 0 does not answer: rank 0 stopped answering";
        }
        if (missing.isEmpty()) {
            return "; every rank timed out: they are out of step (called different collectives) or all waited on"
                    + " one another";
        }
        return "; " + (missing.size() == 1 ? "rank " + missing.get(0) : "ranks " + missing) + " did not report this"
                + " failure within " + seconds(Duration.ofMillis(reportWindowMillis()))
                + ": stopped answering (hung, stopped or far behind)";
    }

    private long reportWindowMillis() {
        return Math.min(REPORT_WINDOW_MILLIS, settings.timeout().toMillis());
    }

    /**
     * Records this rank's failure in the store and returns the ranks that have not recorded theirs within the report
     * window (empty when every rank did), or null when the store does not answer (it is served by rank 0, which
     * is then the one not answering). Tells the launcher, if any.
     */
    private List<Integer> missingRanks() {
        long window = reportWindowMillis();
        List<Integer> missing = new ArrayList<>();
        for (int r = 0; r < settings.worldSize(); r++) {
            if (r != settings.rank()) {
                missing.add(r);
            }
        }
        try (PointerScope scope = new PointerScope()) {
            // The group is broken from here on: the store's own timeout no longer matters to anyone else.
            store.setTimeout(new Milliseconds(window));
            store.set(KEY_PREFIX + "failed/" + settings.rank(), "1");
            long deadline = System.nanoTime() + window * 1_000_000L;
            while (!missing.isEmpty() && System.nanoTime() < deadline) {
                missing.removeIf(r -> store.check(new StringVector(KEY_PREFIX + "failed/" + r)));
                if (!missing.isEmpty()) {
                    sleepQuietly(20);
                }
            }
        } catch (RuntimeException storeSilent) {
            if (settings.rank() != 0) {
                reportToLauncher(settings.rank(), List.of(0));
            }
            return null;
        }
        reportToLauncher(settings.rank(), missing);
        return missing;
    }

    /**
     * Names, for {@link Launcher}, the ranks {@code reporter} found not answering; nothing when not launched by it.
     * Best effort: the error message says the same.
     */
    static void reportToLauncher(int reporter, List<Integer> missing) {
        String dir = System.getenv(TrainingGroup.REPORTS_ENV);
        if (dir == null || dir.isBlank() || missing.isEmpty()) {
            return;
        }
        try {
            Path folder = Path.of(dir);
            Path temporary = Files.createTempFile(folder, "rank-" + reporter, ".tmp");
            Files.writeString(temporary, missing.stream().map(String::valueOf).collect(Collectors.joining(","))
                    + "\n", StandardCharsets.UTF_8);
            Files.move(temporary, folder.resolve("rank-" + reporter + ".missing"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // The launcher then blames the rank that failed, as without a report.
        }
    }
}
