package io.github.optlist.internal;


import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An operating-system lock on a results folder's lock file, held while a search, a reproduce run or a report
 * writes there, so that a second writer is refused at once instead of overwriting the first one's results.
 *
 * <p>The lock is {@link FileChannel#tryLock()} on a file in the folder ({@value #MAIN} for the folder's
 * {@code results.*}, reproduce and report files; {@code .shard-I-of-N.lock} for a shard, so the shards of one folder
 * run at the same time). The operating system releases it when the process ends, however it ends: a
 * {@code kill -9} leaves no stale lock. After locking, the holder writes its pid, host, start time and operation
 * into the file, which a refused writer quotes. The file stays in the folder (emptied when released): deleting it
 * would let two writers lock two different files of the same name.
 *
 * <p>Within one JVM the locks are also tracked here, since Java refuses a second lock of the same file by the same
 * JVM, and on Linux closing any channel to a locked file drops the process's lock on it.
 */
public final class FolderLock implements AutoCloseable {

    /** The lock file of the folder's own files. */
    public static final String MAIN = ".lock";

    /** The lock files this JVM holds, by absolute path, with what they say. */
    private static final Map<Path, String> HELD = new HashMap<>();

    /**
     * Channels of refused attempts on a file some other code of this JVM has locked: closing them would drop that
     * lock (a POSIX lock belongs to the process), so they stay open.
     */
    private static final List<FileChannel> PARKED = new ArrayList<>();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private FolderLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code folder}'s main lock file {@value #MAIN}, creating the folder if absent.
     *
     * @param operation what will write there, e.g. {@code search}, quoted to a refused writer
     * @throws FolderLockedException    if another process, or another operation of this JVM, holds the lock
     * @throws IllegalArgumentException if {@code folder} exists and is not a folder
     * @throws IOException              if the folder or the lock file cannot be created or locked, naming it
     */
    public static FolderLock acquire(Path folder, String operation) throws IOException {
        return acquire(folder, MAIN, operation);
    }

    /**
     * Locks the lock file {@code name} in {@code folder}, creating the folder if absent; see
     * {@link #acquire(Path, String)}.
     */
    static FolderLock acquire(Path folder, String name, String operation) throws IOException {
        if (Files.exists(folder) && !Files.isDirectory(folder)) {
            throw new IllegalArgumentException(folder + " is a file, not a folder");
        }
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw Messages.ioFailure("create folder", folder, e);
        }
        Path file = folder.resolve(name).toAbsolutePath().normalize();
        synchronized (HELD) {
            String holder = HELD.get(file);
            if (holder != null) {
                throw new FolderLockedException(folder, holder);
            }
            FileChannel channel;
            try {
                channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
            } catch (IOException e) {
                throw Messages.ioFailure("open lock file", file, e);
            }
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                PARKED.add(channel);
                throw new FolderLockedException(folder, "another part of this process (not opt-list's own lock)");
            } catch (IOException e) {
                closeQuietly(channel);
                throw Messages.ioFailure("lock", file, e);
            }
            if (lock == null) {
                String said;
                try {
                    said = read(channel);
                } finally {
                    closeQuietly(channel);
                }
                throw new FolderLockedException(folder, said.isBlank()
                        ? "another process (which has not yet written who it is)" : said);
            }
            String me = operation + " (pid " + ProcessHandle.current().pid() + " on " + host() + " since "
                    + Instant.now().truncatedTo(ChronoUnit.SECONDS) + ")";
            try {
                channel.truncate(0);
                channel.write(ByteBuffer.wrap((me + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            } catch (IOException e) {
                closeQuietly(channel);
                throw Messages.ioFailure("write lock file", file, e);
            }
            HELD.put(file, me);
            return new FolderLock(file, channel, lock);
        }
    }

    /** The lock file. */
    public Path file() {
        return file;
    }

    /** Releases the lock (emptying the lock file first); a second call does nothing. */
    @Override
    public void close() {
        synchronized (HELD) {
            if (!channel.isOpen()) {
                return;
            }
            try {
                channel.truncate(0);
                lock.release();
            } catch (IOException e) {
                // closing the channel below releases the lock all the same
            } finally {
                closeQuietly(channel);
                HELD.remove(file);
            }
        }
    }

    private static String read(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(1024);
            channel.read(buffer, 0);
            return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "an unknown host";
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing was written through it that could be lost
        }
    }
}
