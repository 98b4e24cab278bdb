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

    /**
     * Hands {@code pointer}, made and {@code retainReference()}d inside a scope that has closed since, to the
     * caller's innermost open scope, or to the garbage collector when there is none; returns it.
     */
    public static <P extends Pointer> P toCallerScope(P pointer) {
        PointerScope caller = PointerScope.getInnerScope();
        if (caller != null) {
            caller.attach(pointer);
            pointer.releaseReference();
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
