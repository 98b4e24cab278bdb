package io.github.optlist.internal;


import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Files replaced atomically and durably: the one way this library writes a file that a crash must not damage
 * (checkpoints, search results, reproduce summaries, Python state dicts). Not API.
 */
public final class AtomicFile {

    private AtomicFile() {
    }

    /** What {@link #write} writes: the whole content, from the start of an empty file. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel channel) throws IOException;
    }

    /** Numbers this process's temporary files; public for the tests that lay stale ones in the way. */
    public static final AtomicLong TEMPORARIES = new AtomicLong();

    /**
     * The name of this process's {@code n}-th temporary file: {@code .optlist-<pid>-<n>.tmp}, short whatever the
     * target's name, so that a target name of the longest legal length (255 bytes on Linux) can still be written.
     */
    public static String temporaryName(long n) {
        return ".optlist-" + ProcessHandle.current().pid() + "-" + n + ".tmp";
    }

    /**
     * Refuses a path that names no file: the root ({@code /}), or one ending in {@code .} or {@code ..}.
     *
     * @param what what would be written, for the message ("the optimizer")
     * @throws IOException {@code cannot save WHAT to PATH: the path names no file; nothing was written}
     */
    public static void requireFileName(Path target, String what) throws IOException {
        Path name = target.toAbsolutePath().getFileName();
        if (name == null || name.toString().equals(".") || name.toString().equals("..")) {
            throw new IOException("cannot save " + what + " to " + target + ": the path names no file; nothing was"
                    + " written");
        }
    }

    /**
     * Replaces {@code target} with {@code content}, so that {@code target} always holds either its previous bytes
     * or all of the new ones, even across a crash or a power failure: writes a new temporary file beside it
     * ({@link #temporaryName}, {@code .optlist-<pid>-<n>.tmp}, in the same folder, hence on the same file system),
     * flushes it to the device, renames it atomically over {@code target}, and flushes the folder so the rename
     * itself is durable.
     *
     * <p>A path that names no file ({@link #requireFileName}) is refused before anything is done. If anything fails
     * before the rename (no such folder, read-only folder, full disk, quota, a folder in the way, {@code content}
     * throwing), {@code target} is left byte for byte as it was and the temporary file is deleted; the
     * {@link IOException} names {@code target} and the cause. Only a failure to flush the folder after the rename
     * is reported with the new file already in place, and says so. A process killed mid-write leaves its temporary
     * file behind, never a damaged {@code target}.
     *
     * @param what what is written, for the messages ("the optimizer")
     */
    public static void write(Path target, String what, Content content) throws IOException {
        requireFileName(target, what);
        Path absolute = target.toAbsolutePath();
        Path folder = absolute.getParent();
        String failed = "cannot save " + what + " to " + target + ": ";
        FileChannel folderChannel = openFolder(folder, failed);
        try {
            Path temporary = null;
            try {
                for (int attempt = 0; temporary == null; attempt++) {
                    Path candidate = absolute.resolveSibling(temporaryName(TEMPORARIES.incrementAndGet()));
                    try {
                        temporary = Files.createFile(candidate);
                    } catch (FileAlreadyExistsException stale) {
                        // Left by a killed process that had this pid (containers reuse them): not ours to delete.
                        if (attempt == 100) {
                            throw stale;
                        }
                    }
                }
                try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                    content.writeTo(channel);
                    channel.force(true);
                }
                Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException | RuntimeException e) {
                IOException failure = new IOException(failed + cause(e, folder)
                        + "; the previous file, if any, is unchanged", e);
                try {
                    if (temporary != null) {
                        Files.deleteIfExists(temporary);
                    }
                } catch (IOException deleting) {
                    failure.addSuppressed(deleting);
                }
                throw failure;
            }
            if (folderChannel != null) {
                try {
                    folderChannel.force(true);
                } catch (IOException e) {
                    throw new IOException("saved " + what + " to " + target + ", but flushing its folder failed ("
                            + cause(e, folder) + "): the new file is in place but may not survive a power failure",
                            e);
                }
            }
        } finally {
            if (folderChannel != null) {
                folderChannel.close();
            }
        }
    }

    /**
     * Opened before writing, so that a folder that cannot be flushed is refused while nothing has changed; null on
     * Windows, which neither opens nor needs to flush folders (its renames are journaled by NTFS).
     */
    private static FileChannel openFolder(Path folder, String failed) throws IOException {
        if (File.separatorChar == '\\') {
            return null;
        }
        try {
            return FileChannel.open(folder, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new IOException(failed + cause(e, folder) + "; nothing was written", e);
        }
    }

    /** The reason of a file-system failure without the temporary file's name, which the user never asked for. */
    private static String cause(Throwable e, Path folder) {
        if (e instanceof NoSuchFileException) {
            return "no folder " + folder;
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied in " + folder;
        }
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        return Messages.firstLine(e);
    }

    /**
     * As {@link #write(Path, String, Content)} for UTF-8 text.
     *
     * @throws IOException as {@link #write(Path, String, Content)}
     */
    public static void writeString(Path target, String what, String text) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        write(target, what, channel -> {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        });
    }
}
