package io.github.optlist.torch.files;

import io.github.optlist.internal.Messages;
import io.github.optlist.internal.NativeMemory;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.ArchiveWriter;
import org.bytedeco.pytorch.OutputArchive;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * LibTorch's archive writer as a callback into Java: the bytes go to the file channel of the calling thread's
 * {@link Checkpoints#save}. The callback never reports a failure to LibTorch (that would abort the JVM, see
 * {@link Checkpoints#save}): it keeps the first one, drops the rest of the bytes, and {@link #save} throws it
 * once LibTorch returns. One instance for the whole JVM, since JavaCPP allows only a few callbacks at a time.
 */
final class ArchiveChannelWriter extends ArchiveWriter {

    private static final long CHUNK = 1L << 30;
    private static final ThreadLocal<Sink> SINK = new ThreadLocal<>();
    private static final ArchiveChannelWriter INSTANCE = NativeMemory.outliveScope(new ArchiveChannelWriter());

    private static final class Sink {
        final FileChannel channel;
        Throwable failure;

        Sink(FileChannel channel) {
            this.channel = channel;
        }
    }

    static void save(OutputArchive archive, FileChannel channel) throws IOException {
        Sink sink = new Sink(channel);
        SINK.set(sink);
        try {
            archive.save_to(INSTANCE);
        } finally {
            SINK.remove();
        }
        if (sink.failure instanceof IOException e) {
            throw e;
        }
        if (sink.failure != null) {
            throw new IOException(Messages.firstLine(sink.failure), sink.failure);
        }
    }

    @Override
    public long call(Pointer buffer, long size) {
        Sink sink = SINK.get();
        if (sink != null && sink.failure == null) {
            try {
                write(sink.channel, buffer, size);
            } catch (Throwable e) {
                sink.failure = e;
            }
        }
        return size;
    }

    private static void write(FileChannel channel, Pointer buffer, long size) throws IOException {
        if (buffer == null || buffer.isNull()) {
            // LibTorch's "skip ahead" (a record written as metadata only): zeros in a fresh file.
            ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(size, 1 << 16));
            for (long left = size; left > 0; left -= zeros.limit()) {
                zeros.clear().limit((int) Math.min(left, zeros.capacity()));
                while (zeros.hasRemaining()) {
                    channel.write(zeros);
                }
            }
            return;
        }
        BytePointer bytes = new BytePointer(buffer).capacity(size);
        for (long from = 0; from < size; from += CHUNK) {
            ByteBuffer chunk = ZipArchive.slice(bytes, from, Math.min(size, from + CHUNK));
            while (chunk.hasRemaining()) {
                channel.write(chunk);
            }
        }
    }
}
