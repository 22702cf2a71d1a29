package io.bittensor.transport;

import com.google.protobuf.CodedOutputStream;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.NativeTensor;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;

/**
 * A {@code TensorMessage} to send whose tensors' bytes are still in native memory
 * ({@link NativeTensor}s): written by {@link #stream()} straight from ND4J's buffers into the
 * transport's, byte for byte what protobuf writes for {@link #toMessage()}, with no heap copy of
 * a whole tensor and no serialized message in between.
 *
 * <p>How the bytes stay protobuf's: protobuf writes known fields in field-number order, then
 * unknown fields. {@code tensors} is field 6; fields 1-5 are the original's and frozen
 * (PROTOCOL.md), and everything we add is numbered 20 and up. So the header's own serialization
 * (it has no tensors) splits at the end of fields 1-5, and the tensors go between; likewise a
 * tensor's {@code buffer} (field 2) goes between its {@code version} (1) and the rest.
 *
 * <p>Owns its native tensors: {@link #close()} frees their private copies (the arrays they were
 * made from must stay unchanged until the message is written). Written once.
 */
public final class OutgoingMessage implements AutoCloseable {
    /** Native memory reaches an OutputStream only through a heap array: a small one per thread. */
    private static final int CHUNK_BYTES = 32 << 10;
    private static final ThreadLocal<byte[]> CHUNK = ThreadLocal.withInitial(() -> new byte[CHUNK_BYTES]);
    private static final int TENSORS_TAG = 6 << 3 | 2; // field 6, length-delimited: one byte
    private static final int BUFFER_TAG = 2 << 3 | 2; // Tensor field 2, length-delimited: one byte

    private final TensorMessage header;
    private final List<NativeTensor> tensors;

    private OutgoingMessage(TensorMessage header, List<NativeTensor> tensors) {
        this.header = header;
        this.tensors = tensors;
    }

    /** {@code message} as it is (its tensors, if any, are on the heap already). */
    public static OutgoingMessage of(TensorMessage message) {
        return new OutgoingMessage(Objects.requireNonNull(message, "message"), List.of());
    }

    /**
     * {@code header}'s fields followed by {@code tensors} as its {@code tensors} field.
     *
     * @throws IllegalArgumentException if {@code header} has tensors of its own
     */
    public static OutgoingMessage of(TensorMessage header, List<NativeTensor> tensors) {
        Objects.requireNonNull(header, "header");
        if (header.getTensorsCount() != 0 && !tensors.isEmpty()) {
            throw new IllegalArgumentException("the header has tensors of its own");
        }
        return new OutgoingMessage(header, List.copyOf(tensors));
    }

    /** Every field but the native tensors (a message built with {@link #of(TensorMessage)}: all). */
    public TensorMessage header() {
        return header;
    }

    public ReturnCode returnCode() {
        return header.getReturnCode();
    }

    /** The number of tensors the message carries. */
    public int tensorCount() {
        return header.getTensorsCount() + tensors.size();
    }

    /** The whole message with its tensor bytes copied to the heap (tests, fallbacks). */
    public TensorMessage toMessage() {
        if (tensors.isEmpty()) {
            return header;
        }
        TensorMessage.Builder b = header.toBuilder();
        for (NativeTensor t : tensors) {
            b.addTensors(t.toTensor());
        }
        return b.build();
    }

    /** Bytes on the wire (without gRPC's 5-byte frame header). */
    public int serializedSize() {
        return tensors.isEmpty() ? header.getSerializedSize() : layout().size;
    }

    /**
     * The serialized message as gRPC wants it: {@link Drainable} (gRPC drains it into its
     * buffers synchronously inside {@code sendMessage}) and {@link KnownLength}; read byte-wise
     * only by other consumers, from a copy made on first read.
     */
    public InputStream stream() {
        return new WireStream(this);
    }

    /** Writes the serialized message to {@code out}; returns the bytes written. */
    int writeTo(OutputStream out) throws IOException {
        if (tensors.isEmpty()) {
            header.writeTo(out);
            return header.getSerializedSize();
        }
        Layout l = layout();
        byte[] chunk = CHUNK.get();
        int from = 0;
        for (int i = 0; i < tensors.size(); i++) {
            out.write(l.bytes, from, l.cuts[i] - from);
            tensors.get(i).writeBuffer(out, chunk);
            from = l.cuts[i];
        }
        out.write(l.bytes, from, l.bytes.length - from);
        return l.size;
    }

    /** Frees the native tensors' private copies. Idempotent. */
    @Override
    public void close() {
        for (NativeTensor t : tensors) {
            t.close();
        }
    }

    // ----------------------------------------------------------------------------------- layout

    private Layout layout;

    private Layout layout() {
        if (layout == null) {
            layout = new Layout(header, tensors);
        }
        return layout;
    }

    /**
     * Every byte of the message but the tensors' buffer bytes, in order, in one small array:
     * tensor i's buffer bytes go in at {@code cuts[i]}.
     */
    private static final class Layout {
        final byte[] bytes;
        final int[] cuts;
        final int size;

        Layout(TensorMessage header, List<NativeTensor> tensors) {
            int n = tensors.size();
            byte[] head = header.toByteArray();
            int split = originalFieldsSize(header);
            byte[][] metas = new byte[n][];
            int[] metaSplit = new int[n];
            int[] tensorSize = new int[n];
            long total = head.length;
            long data = 0;
            for (int i = 0; i < n; i++) {
                Tensor meta = tensors.get(i).meta();
                metas[i] = meta.toByteArray();
                metaSplit[i] = meta.getVersion().isEmpty() ? 0
                        : CodedOutputStream.computeStringSize(1, meta.getVersion());
                int len = tensors.get(i).byteLength();
                long ts = (long) metas[i].length + bufferFieldSize(len) + len;
                if (ts > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("tensor of " + ts + " bytes; protobuf takes < 2 GiB");
                }
                tensorSize[i] = (int) ts;
                total += 1 + CodedOutputStream.computeUInt32SizeNoTag(tensorSize[i]) + ts;
                data += len;
            }
            if (total > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("message of " + total + " bytes; protobuf takes < 2 GiB");
            }
            size = (int) total;
            bytes = new byte[(int) (total - data)];
            cuts = new int[n];
            int p = put(head, 0, split, bytes, 0); // fields 1-5
            for (int i = 0; i < n; i++) {
                int len = tensors.get(i).byteLength();
                bytes[p++] = (byte) TENSORS_TAG;
                p = putVarint(tensorSize[i], bytes, p);
                p = put(metas[i], 0, metaSplit[i], bytes, p); // its version
                if (len > 0) { // proto3 writes no empty bytes field
                    bytes[p++] = (byte) BUFFER_TAG;
                    p = putVarint(len, bytes, p);
                }
                cuts[i] = p;
                p = put(metas[i], metaSplit[i], metas[i].length, bytes, p); // shape, dtype, ...
            }
            p = put(head, split, head.length, bytes, p); // fields 20+, unknown fields
            if (p != bytes.length) {
                throw new IllegalStateException("layout of " + p + " bytes, expected " + bytes.length);
            }
        }

        private static int put(byte[] src, int from, int to, byte[] dst, int at) {
            System.arraycopy(src, from, dst, at, to - from);
            return at + to - from;
        }

        private static int putVarint(int v, byte[] dst, int at) {
            while ((v & ~0x7f) != 0) {
                dst[at++] = (byte) ((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            dst[at++] = (byte) v;
            return at;
        }

        private static int bufferFieldSize(int len) {
            return len == 0 ? 0 : 1 + CodedOutputStream.computeUInt32SizeNoTag(len);
        }

        /** The serialized size of fields 1-5 (version .. signature), as protobuf writes them. */
        private static int originalFieldsSize(TensorMessage m) {
            int s = 0;
            if (!m.getVersion().isEmpty()) {
                s += CodedOutputStream.computeStringSize(1, m.getVersion());
            }
            if (!m.getNeuronKey().isEmpty()) {
                s += CodedOutputStream.computeStringSize(2, m.getNeuronKey());
            }
            if (!m.getSynapseKey().isEmpty()) {
                s += CodedOutputStream.computeStringSize(3, m.getSynapseKey());
            }
            if (m.getNounce() != 0) {
                s += CodedOutputStream.computeInt64Size(4, m.getNounce());
            }
            if (!m.getSignature().isEmpty()) {
                s += CodedOutputStream.computeBytesSize(5, m.getSignature());
            }
            return s;
        }
    }

    /** What gRPC writes from: drained once into its buffers, or read (from a copy) by others. */
    private static final class WireStream extends InputStream implements Drainable, KnownLength {
        private final OutgoingMessage message;
        private byte[] copy; // made on the first read(); null while draining is possible
        private int pos;
        private boolean drained;

        WireStream(OutgoingMessage message) {
            this.message = message;
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            if (copy == null && !drained) {
                drained = true;
                return message.writeTo(target);
            }
            int n = available();
            if (n > 0) {
                target.write(copy, pos, n);
                pos += n;
            }
            return n;
        }

        @Override
        public int available() {
            if (drained && copy == null) {
                return 0;
            }
            return copy == null ? message.serializedSize() : copy.length - pos;
        }

        @Override
        public int read() throws IOException {
            byte[] b = materialize();
            return b == null || pos >= b.length ? -1 : b[pos++] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            byte[] c = materialize();
            if (len == 0) {
                return 0;
            }
            if (c == null || pos >= c.length) {
                return -1;
            }
            int n = Math.min(len, c.length - pos);
            System.arraycopy(c, pos, b, off, n);
            pos += n;
            return n;
        }

        private byte[] materialize() throws IOException {
            if (copy == null && !drained) {
                ByteArrayOutputStream out = new ByteArrayOutputStream(message.serializedSize());
                message.writeTo(out);
                copy = out.toByteArray();
            }
            return copy;
        }
    }

    /** For tests: the bytes {@link #stream()} gives, as a heap array. */
    byte[] toByteArray() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(serializedSize());
            writeTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
