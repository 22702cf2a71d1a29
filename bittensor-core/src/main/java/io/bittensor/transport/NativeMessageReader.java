package io.bittensor.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.NativeBuffers;
import io.bittensor.tensor.WireTensor;
import io.grpc.HasByteBuffer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads one {@code TensorMessage} of known length from a stream, putting each tensor's
 * {@code buffer} bytes straight into a native block of its own (offset 0: aligned) and everything
 * else into a small heap array that protobuf then parses. One copy of the tensor bytes, from
 * gRPC's received buffers ({@link HasByteBuffer}) into native memory, and none after:
 * {@link io.bittensor.tensor.TensorCodec#decodeView} views the block.
 *
 * <p>This class only frames fields (tags, varints, lengths, groups) and checks that every length
 * fits inside its message; what the fields mean, and whether they are valid, is protobuf's to
 * decide when it parses the rest: the result equals what {@code TensorMessage.parseFrom} gives,
 * tensors' bytes aside. Protobuf's rules for tensors: every {@code tensors} field (6, length-
 * delimited) is one more tensor, in order; within one, the last {@code buffer} field (2,
 * length-delimited) wins; a field with another wire type than its declared one is an unknown
 * field. Not thread-safe: one reader per message.
 */
final class NativeMessageReader {
    private static final int WT_VARINT = 0;
    private static final int WT_FIXED64 = 1;
    private static final int WT_LEN = 2;
    private static final int WT_START_GROUP = 3;
    private static final int WT_END_GROUP = 4;
    private static final int WT_FIXED32 = 5;
    private static final int TENSORS = 6;
    private static final int BUFFER = 2;
    /** protobuf's default recursion limit. */
    private static final int MAX_DEPTH = 100;
    private static final int CHUNK = 32 * 1024;
    private static final ThreadLocal<byte[]> CHUNKS = ThreadLocal.withInitial(() -> new byte[CHUNK]);

    private final InputStream in;
    private final NativeBuffers blocks;
    private long left; // bytes of the message not read yet
    private final byte[] tag = new byte[10];
    private int tagLength;

    private NativeMessageReader(InputStream in, int length, NativeBuffers blocks) {
        this.in = in;
        this.left = length;
        this.blocks = blocks;
    }

    /** A message whose tensors' bytes lie in blocks from {@code blocks}; nothing is held on failure. */
    static ReceivedMessage read(InputStream in, int length, NativeBuffers blocks) throws IOException {
        return new NativeMessageReader(in, length, blocks).readMessage(length);
    }

    private ReceivedMessage readMessage(int length) throws IOException {
        List<WireTensor> tensors = new ArrayList<>(2);
        boolean done = false;
        try {
            Bytes rest = new Bytes(256);
            List<Tensor> headers = new ArrayList<>(2);
            while (left > 0) {
                long t = readTag(left);
                int field = (int) (t >>> 3);
                int wt = (int) (t & 7);
                if (field == TENSORS && wt == WT_LEN) {
                    WireTensor w = readTensor(readLength(left));
                    tensors.add(w);
                    headers.add(w.header());
                } else {
                    rest.put(tag, 0, tagLength);
                    copyValue(field, wt, left, rest, 0);
                }
            }
            if (in.read() != -1) {
                throw new IOException("the stream is longer than it said");
            }
            TensorMessage message = TensorMessage.parseFrom(rest.toByteArray())
                    .toBuilder().addAllTensors(headers).build();
            done = true;
            return new ReceivedMessage(message, tensors, length);
        } finally {
            if (!done) {
                tensors.forEach(WireTensor::close);
            }
        }
    }

    /** One {@code Tensor} of {@code length} bytes: its buffer into a block, the rest parsed. */
    private WireTensor readTensor(long length) throws IOException {
        long end = left - length;
        Bytes header = new Bytes(64);
        NativeBuffers.Block payload = null;
        boolean done = false;
        try {
            while (left > end) {
                long t = readTag(left - end);
                int field = (int) (t >>> 3);
                int wt = (int) (t & 7);
                if (field == BUFFER && wt == WT_LEN) {
                    long n = readLength(left - end);
                    if (payload != null) {
                        payload.close(); // a later buffer field replaces it, as protobuf's parse does
                    }
                    payload = blocks.acquire(n);
                    readInto(payload.buffer(), (int) n);
                } else {
                    header.put(tag, 0, tagLength);
                    copyValue(field, wt, left - end, header, 0);
                }
            }
            if (left != end) { // never: every read above stays within the tensor
                throw new InvalidProtocolBufferException("a tensor ran past its length");
            }
            Tensor parsed = Tensor.parseFrom(header.toByteArray());
            WireTensor w = new WireTensor(parsed, payload);
            done = true;
            return w;
        } finally {
            if (!done && payload != null) {
                payload.close();
            }
        }
    }

    /** Copies one field's value (its tag already copied) into {@code out}, within {@code room} bytes. */
    private void copyValue(int field, int wt, long room, Bytes out, int depth) throws IOException {
        switch (wt) {
            case WT_VARINT -> {
                readTagLike(room);
                out.put(tag, 0, tagLength);
            }
            case WT_FIXED64 -> copy(8, room, out);
            case WT_FIXED32 -> copy(4, room, out);
            case WT_LEN -> {
                long n = readLength(room);
                out.put(tag, 0, tagLength);
                copy(n, room - tagLength, out);
            }
            case WT_START_GROUP -> {
                if (depth >= MAX_DEPTH) {
                    throw new InvalidProtocolBufferException("groups nested deeper than " + MAX_DEPTH);
                }
                long end = left - room;
                while (true) {
                    if (left <= end) {
                        throw new InvalidProtocolBufferException("a group is not closed");
                    }
                    long t = readTag(left - end);
                    out.put(tag, 0, tagLength);
                    int f = (int) (t >>> 3);
                    int w = (int) (t & 7);
                    if (w == WT_END_GROUP) {
                        if (f != field) {
                            throw new InvalidProtocolBufferException("end-group tag does not match");
                        }
                        return;
                    }
                    copyValue(f, w, left - end, out, depth + 1);
                }
            }
            default -> throw new InvalidProtocolBufferException("wire type " + wt + " of field " + field);
        }
    }

    /** A tag: a varint of at most 32 bits within {@code room} bytes, into {@link #tag}. */
    private long readTag(long room) throws IOException {
        long t = readTagLike(room);
        if (t > 0xFFFF_FFFFL) {
            throw new InvalidProtocolBufferException("a tag over 32 bits");
        }
        return t;
    }

    /** A length prefix that must fit in {@code room} (after itself), into {@link #tag}. */
    private long readLength(long room) throws IOException {
        long n = readTagLike(room);
        if (n < 0 || n > Integer.MAX_VALUE || n > room - tagLength) {
            throw new InvalidProtocolBufferException("a length of " + n + " runs past its message");
        }
        return n;
    }

    /** A varint (at most 10 bytes) read into {@link #tag}. */
    private long readTagLike(long room) throws IOException {
        long v = 0;
        tagLength = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (tagLength >= room) {
                throw new InvalidProtocolBufferException("a varint runs past its message");
            }
            int b = readByte();
            tag[tagLength++] = (byte) b;
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new InvalidProtocolBufferException("a varint longer than 10 bytes");
    }

    private int readByte() throws IOException {
        int b = in.read();
        if (b < 0) {
            throw new IOException("the stream ended before the length it said");
        }
        left--;
        return b;
    }

    private void copy(long n, long room, Bytes out) throws IOException {
        if (n > room) {
            throw new InvalidProtocolBufferException("a field runs past its message");
        }
        int off = out.grow((int) n);
        int read = in.readNBytes(out.array(), off, (int) n);
        if (read != n) {
            throw new IOException("the stream ended before the length it said");
        }
        left -= n;
    }

    /** {@code n} bytes into {@code dst}: from gRPC's own buffers if it lends them, else via a chunk. */
    private void readInto(ByteBuffer dst, int n) throws IOException {
        int remaining = n;
        if (in instanceof HasByteBuffer h && h.byteBufferSupported()) {
            while (remaining > 0) {
                ByteBuffer src = h.getByteBuffer();
                if (src == null || !src.hasRemaining()) {
                    break;
                }
                int k = Math.min(src.remaining(), remaining);
                src.limit(src.position() + k);
                dst.put(src);
                if (in.skip(k) != k) {
                    throw new IOException("the stream did not skip what it lent");
                }
                remaining -= k;
            }
        }
        byte[] chunk = CHUNKS.get();
        while (remaining > 0) {
            int k = in.read(chunk, 0, Math.min(chunk.length, remaining));
            if (k < 0) {
                throw new IOException("the stream ended before the length it said");
            }
            dst.put(chunk, 0, k);
            remaining -= k;
        }
        left -= n;
    }

    /** A growable heap array for the small non-tensor bytes. */
    private static final class Bytes {
        private byte[] a;
        private int size;

        Bytes(int capacity) {
            a = new byte[capacity];
        }

        void put(byte[] b, int off, int n) {
            int at = grow(n);
            System.arraycopy(b, off, a, at, n);
        }

        /** Makes room for {@code n} more bytes; their offset. */
        int grow(int n) {
            if (size + n > a.length) {
                a = Arrays.copyOf(a, Math.max(size + n, 2 * a.length));
            }
            int at = size;
            size += n;
            return at;
        }

        byte[] array() {
            return a;
        }

        /** An exact copy: protobuf's parseFrom(byte[]) also checks that no group is left open. */
        byte[] toByteArray() {
            return Arrays.copyOf(a, size);
        }

        int size() {
            return size;
        }
    }
}
