package io.github.optlist.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps {@code close()} from freeing native state that a call on another thread is still using: every public call
 * that touches the state {@linkplain #enter() enters} (and leaves when done), and {@link #close()} succeeds only
 * when no call is in progress. One atomic counter, no lock and no allocation per call, so a training step pays
 * two atomic updates. A call after a successful close is refused as before; a close racing a call is refused instead
 * of freeing memory under it (a use-after-free killed the JVM). Nested calls on one thread (a closure calling
 * {@code zeroGrad()}) count once each.
 */
public final class CallGuard {

    /** The counter's value once closed: below any count, so a closed guard refuses entry in one comparison. */
    private static final int CLOSED = Integer.MIN_VALUE;

    private final AtomicInteger calls = new AtomicInteger();
    private final Call call = new Call();
    private final String what;

    /** A guard for an object named {@code what} in messages ({@code "optimizer"}). */
    public CallGuard(String what) {
        this.what = what;
    }

    /** A call in progress; closing it leaves. One object per guard, so entering allocates nothing. */
    public final class Call implements AutoCloseable {

        private Call() {
        }

        /** Leaves the call. */
        @Override
        public void close() {
            calls.decrementAndGet();
        }
    }

    /**
     * Enters a call, to be left with {@code try (CallGuard.Call call = guard.enter()) {...}}.
     *
     * @throws IllegalStateException if the guard is closed
     */
    public Call enter() {
        while (true) {
            int n = calls.get();
            if (n < 0) {
                throw new IllegalStateException("this " + what + " is closed: its state was freed");
            }
            if (calls.compareAndSet(n, n + 1)) {
                return call;
            }
        }
    }

    /**
     * Closes the guard if no call is in progress: every later {@link #enter()} is refused.
     *
     * @return true if this call closed it, false if it was closed already
     * @throws IllegalStateException if a call is in progress (another thread is using the object); the guard stays
     *                               open
     */
    public boolean close() {
        while (true) {
            if (calls.compareAndSet(0, CLOSED)) {
                return true;
            }
            int n = calls.get();
            if (n < 0) {
                return false;
            }
            if (n > 0) {
                throw new IllegalStateException("another thread is using this " + what + " (a call is in"
                        + " progress); it was not closed: close it after that call returns (one thread per "
                        + what + ")");
            }
        }
    }

    /** Opens the guard again after {@link #close()} returned true, when freeing the state failed. */
    public void reopen() {
        calls.compareAndSet(CLOSED, 0);
    }
}
