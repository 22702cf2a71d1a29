package io.bittensor.examples.mnist;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reader for the IDX format of the MNIST files (LeCun et al.): a big-endian header of two zero
 * bytes, a type byte, a dimension count, one 32-bit size per dimension, then the elements.
 * Only unsigned-byte data (type 0x08) is supported, which is all MNIST uses.
 */
public final class Idx {
    /** Type code of unsigned bytes. */
    public static final int UBYTE = 0x08;

    private Idx() {}

    /**
     * An IDX array of unsigned bytes.
     *
     * @param dims   size per dimension, outermost first
     * @param bytes  the whole file; elements start at {@code offset}
     * @param offset where the elements start (after the header)
     */
    public record Array(int[] dims, byte[] bytes, int offset) {
        public Array {
            dims = dims.clone();
        }

        @Override
        public int[] dims() {
            return dims.clone();
        }

        /** Number of elements. */
        public long count() {
            return elementCount(dims);
        }

        /** Element i (flat, row-major) as 0..255. */
        public int get(long i) {
            return bytes[offset + Math.toIntExact(i)] & 0xff;
        }
    }

    /** Reads and validates an IDX file; {@link IdxFormatException} names the file and the problem. */
    public static Array read(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file.toString());
    }

    /**
     * Parses IDX bytes.
     *
     * @param source name used in error messages
     * @throws IdxFormatException when the magic number, dimensions or length are wrong
     */
    public static Array parse(byte[] bytes, String source) {
        if (bytes.length < 4) {
            throw new IdxFormatException(source + ": too short for an IDX header (" + bytes.length + " bytes)");
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes); // big-endian by default, as IDX is
        int magic = buf.getInt();
        if ((magic >>> 16) != 0) {
            throw new IdxFormatException(String.format(
                    "%s: bad IDX magic number 0x%08x (must start with two zero bytes)", source, magic));
        }
        int type = (magic >>> 8) & 0xff;
        int rank = magic & 0xff;
        if (type != UBYTE) {
            throw new IdxFormatException(String.format(
                    "%s: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)", source, type));
        }
        if (rank < 1 || rank > 4) {
            throw new IdxFormatException(source + ": IDX rank " + rank + " is out of range 1..4");
        }
        int header = 4 + 4 * rank;
        if (bytes.length < header) {
            throw new IdxFormatException(source + ": truncated IDX header (" + bytes.length + " bytes, need " + header + ")");
        }
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = buf.getInt();
            if (dims[i] < 0) {
                throw new IdxFormatException(source + ": negative IDX dimension " + Integer.toUnsignedString(dims[i]));
            }
        }
        long expected = header + elementCount(dims);
        if (bytes.length != expected) {
            throw new IdxFormatException(String.format("%s: IDX dimensions %s need %d bytes but the file has %d",
                    source, Arrays.toString(dims), expected, bytes.length));
        }
        return new Array(dims, bytes, header);
    }

    private static long elementCount(int[] dims) {
        long n = 1;
        for (int d : dims) {
            n *= d; // at most 4 int factors: checked against the (int-sized) file length right after
            if (n > Integer.MAX_VALUE) {
                return Long.MAX_VALUE / 2;
            }
        }
        return n;
    }

    /** A malformed IDX file. */
    public static final class IdxFormatException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public IdxFormatException(String message) {
            super(message);
        }
    }
}
