package io.github.optlist.cli;

import io.github.optlist.search.SearchListener;
import io.github.optlist.search.TrialResult;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Shows the progress of a search or a reproduce run: a progress bar on a terminal (trials done, the running
 * trial's task, step and loss, ETA), otherwise one plain line per finished trial and per task.
 */
abstract class Progress implements SearchListener, AutoCloseable {

    static Progress forConsole(PrintWriter out, int total) {
        return System.console() != null ? new Bar(total) : new Lines(out);
    }

    @Override
    public void close() {
    }

    static String describe(TrialResult r) {
        return String.format("trial %s (%s, %s): %s, objective %.6g, %.1f s%s", r.index() < 0 ? r.label()
                        : String.valueOf(r.index()), r.name(), r.variant(), r.status(),
                r.objective(), r.seconds(), r.reason().isEmpty() ? "" : ", " + r.reason());
    }

    /** One line per finished trial, for logs and pipes. */
    static final class Lines extends Progress {
        private final PrintWriter out;
        private final AtomicInteger done = new AtomicInteger();
        private volatile int total;

        Lines(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void searchStarted(int pending, int finished) {
            total = pending;
            if (finished > 0) {
                out.println("resuming: " + finished + " trials already done, " + pending + " to run");
                out.flush();
            }
        }

        @Override
        public synchronized void taskStarted(String task, int position, int count, long steps) {
            out.printf("task %s (%d/%d), %d steps per trial%n", task, position, count, steps);
            out.flush();
        }

        @Override
        public synchronized void trialFinished(TrialResult result) {
            out.printf("[%d/%d] %s%n", done.incrementAndGet(), total, describe(result));
            out.flush();
        }
    }

    /** A terminal progress bar. */
    static final class Bar extends Progress {
        private final ProgressBar bar;
        private volatile long lastUpdate;
        private volatile String task = "";

        Bar(int total) {
            bar = new ProgressBarBuilder().setTaskName("trials").setInitialMax(total)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).showSpeed().build();
        }

        @Override
        public void searchStarted(int pending, int finished) {
            bar.maxHint(pending);
        }

        @Override
        public void taskStarted(String name, int position, int count, long steps) {
            task = name + " ";
        }

        @Override
        public void trialProgress(String label, long step, long trainingSteps, double loss) {
            long now = System.nanoTime();
            if (now - lastUpdate > 100_000_000L || step + 1 == trainingSteps) {
                lastUpdate = now;
                bar.setExtraMessage(String.format(" %s%s step %d/%d loss %.4g", task, label, step + 1,
                        trainingSteps, loss));
            }
        }

        @Override
        public void trialFinished(TrialResult result) {
            bar.step();
        }

        @Override
        public void close() {
            bar.close();
        }
    }
}
