package io.github.optlist.internal;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * Ownership of native objects that must outlive whatever {@link PointerScope} the caller has open: the optimizer's
 * state and buffers, and the distributed package's preallocated buckets.
 */
public final class NativeMemory {

    private NativeMemory() {
    }

    /**
     * Keeps {@code pointer} alive when the innermost open scope closes; the caller then owns it and releases it
     * with {@link #release}. A scope's {@code detach} would free it at once, hence the extra reference.
     */
    public static <P extends Pointer> P outliveScope(P pointer) {
        if (PointerScope.getInnerScope() != null) {
            pointer.retainReference();
        }
        return pointer;
    }

    /** Frees a pointer kept by {@link #outliveScope}; null is ignored. */
    public static void release(Pointer pointer) {
        if (pointer != null && !pointer.isNull()) {
            pointer.deallocate();
        }
    }
}
