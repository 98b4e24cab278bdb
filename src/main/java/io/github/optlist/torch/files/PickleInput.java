package io.github.optlist.torch.files;

import io.github.optlist.torch.files.Pickled.PickleException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The bytes of a pickle, read for {@link Unpickler}: every length read from them is checked against the bytes that
 * follow before anything is allocated, and reading past the end is a {@link PickleException}, never an exception of
 * {@link ByteBuffer}'s.
 */
final class PickleInput {

    private final ByteBuffer in;

    PickleInput(byte[] pickle) {
        this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Where the next byte is read from. */
    int position() {
        return in.position();
    }

    boolean hasRemaining() {
        return in.hasRemaining();
    }


    int u8() throws PickleException {
        if (!in.hasRemaining()) {
            throw new PickleException("it is cut short inside an opcode (truncated?)");
        }
        return in.get() & 0xff;
    }

    int i32() throws PickleException {
        if (in.remaining() < 4) {
            throw new PickleException("it is cut short inside an opcode (truncated?)");
        }
        return in.getInt();
    }

    byte[] bytes(long n) throws PickleException {
        if (n < 0 || n > in.remaining()) {
            throw new PickleException("a value declares " + (n < 0 ? "more than 2^63" : Long.toString(n))
                    + " bytes, but only " + in.remaining() + " follow");
        }
        byte[] out = new byte[(int) n];
        in.get(out);
        return out;
    }

    String string(long n) throws PickleException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes(n))).toString();
        } catch (CharacterCodingException e) {
            throw new PickleException("a string is not UTF-8");
        }
    }

    /** A {@code GLOBAL} argument: ASCII up to a newline, at most 256 bytes. */
    String line() throws PickleException {
        StringBuilder out = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') {
                return out.toString();
            }
            if (c < 0x20 || c > 0x7e || out.length() >= 256) {
                throw new PickleException("a GLOBAL name is not a short ASCII line");
            }
            out.append((char) c);
        }
    }

    long longOf(long n) throws PickleException {
        if (n < 0 || n > 8) {
            throw new PickleException("an integer of " + n + " bytes is larger than 64 bits");
        }
        byte[] b = bytes(n);
        long value = 0;
        for (int i = b.length - 1; i >= 0; i--) {
            value = value << 8 | (b[i] & 0xff);
        }
        if (b.length > 0 && b.length < 8 && b[b.length - 1] < 0) {
            value -= 1L << (8 * b.length); // two's complement of fewer than 8 bytes
        }
        return value;
    }
}
