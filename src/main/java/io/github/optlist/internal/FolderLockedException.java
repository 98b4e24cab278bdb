package io.github.optlist.internal;

import java.nio.file.Path;

/** Thrown when a results folder is locked by another writer ({@link FolderLock}): nothing was written. */
public final class FolderLockedException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private final Path folder;
    private final String holder;

    /** A refusal of {@code folder}, held by {@code holder} (e.g. {@code search (pid 12 on host since ...)}). */
    public FolderLockedException(Path folder, String holder) {
        super(folder + " is in use by " + holder + "; wait for it to end, or write to another folder");
        this.folder = folder;
        this.holder = holder;
    }

    /** The folder refused. */
    public Path folder() {
        return folder;
    }

    /** Who holds it, as its lock file says. */
    public String holder() {
        return holder;
    }
}
