package io.bittensor.tensor;

import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.proto.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.indexer.DoubleIndexer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.javacpp.indexer.Indexer;
import org.bytedeco.javacpp.indexer.IntIndexer;
import org.bytedeco.javacpp.indexer.LongIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A wire tensor whose {@code buffer} bytes (little-endian elements in C order, as on the wire)
 * lie in a native block it owns: what the transport received ({@code NativeMessageMarshaller}),
 * or what {@link TensorCodec#encodeWire} wrote. {@link #header()} has every other field.
 *
 * <p><b>Views and ownership.</b> {@link TensorCodec#decodeView} gives a new INDArray whose memory
 * is this block: no copy. It is valid until this tensor is {@link #close() closed}; closing
 * releases every view made from it (ND4J then refuses them: reads and ops on a released buffer
 * throw {@code IllegalStateException}, so a closed tensor's bytes are never read through them)
 * and gives the block back to its pool. Arrays derived from a view before close (reshape, get)
 * share its memory as ND4J views do: ND4J's ops refuse them after close, its element getters do
 * not, so do not keep them past close (as with any ND4J array that is closed).
 *
 * <p>A tensor never closed is no leak: the block goes back once neither this tensor nor any
 * view of it is reachable (a {@link Cleaner}; each view's pointer keeps the block's holder
 * reachable). Closing is what makes it deterministic. Thread-safe; not to be closed while a view
 * is in use on another thread.
 */
public final class WireTensor implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final Tensor header;
    private final int byteLength;
    private final Holder holder; // null when there are no bytes
    private final Cleaner.Cleanable cleanable;
    private final List<INDArray> views = new ArrayList<>(1); // guarded by this
    private boolean closed; // guarded by this

    /**
     * Takes ownership of {@code block} (null for an empty buffer), whose first
     * {@code block.length()} bytes are the tensor's {@code buffer}.
     *
     * @param header every field but {@code buffer} (which must be empty)
     */
    public WireTensor(Tensor header, NativeBuffers.Block block) {
        this.header = Objects.requireNonNull(header, "header");
        if (!header.getBuffer().isEmpty()) {
            throw new IllegalArgumentException("the header must not carry buffer bytes");
        }
        if (block == null || block.length() == 0) {
            if (block != null) {
                block.close();
            }
            this.byteLength = 0;
            this.holder = null;
            this.cleanable = null;
        } else {
            if (block.length() > Integer.MAX_VALUE - 8) {
                block.close();
                throw new IllegalArgumentException("a tensor holds < 2 GiB");
            }
            this.byteLength = (int) block.length();
            this.holder = new Holder(block);
            // The action holds the block, never the holder: it runs once the holder is unreachable.
            this.cleanable = CLEANER.register(holder, block::close);
        }
    }

    /** Every field of the wire tensor but {@code buffer}. */
    public Tensor header() {
        return header;
    }

    /** The length of {@code buffer}. */
    public int byteLength() {
        return byteLength;
    }

    /**
     * A read-only direct buffer over the bytes (position 0), valid until {@link #close()}: for
     * hashing or writing them. It does not keep the block alive; fence this tensor while using it.
     *
     * @throws IllegalStateException after close
     */
    public synchronized ByteBuffer bytes() {
        checkOpen();
        return holder == null ? ByteBuffer.allocate(0) : holder.block.buffer().asReadOnlyBuffer();
    }

    /** The whole tensor with its bytes copied to the heap (for code that needs a {@link Tensor}). */
    public Tensor toTensor() {
        if (byteLength == 0) {
            checkOpenLocked();
            return header;
        }
        byte[] copy = new byte[byteLength];
        bytes().get(copy);
        return header.toBuilder().setBuffer(UnsafeByteOperations.unsafeWrap(copy)).build();
    }

    /** Writes the bytes to {@code out} through {@code chunk} (native memory reaches a stream only via the heap). */
    public void writeBuffer(OutputStream out, byte[] chunk) throws IOException {
        ByteBuffer src = bytes();
        while (src.hasRemaining()) {
            int n = Math.min(src.remaining(), chunk.length);
            src.get(chunk, 0, n);
            out.write(chunk, 0, n);
        }
    }

    /** True once closed. */
    public synchronized boolean isClosed() {
        return closed;
    }

    /**
     * A new C-ordered array of {@code type} and {@code shape} over the bytes, released when this
     * tensor closes. The caller (the codec) has checked that the shape fills the bytes exactly.
     */
    @SuppressWarnings("try") // the workspace scope is only opened and closed
    synchronized INDArray view(DataType type, long[] shape, long elements) {
        checkOpen();
        INDArray v;
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            if (elements == 0) {
                v = Nd4j.createUninitialized(type, shape, 'c'); // nothing to view
            } else {
                Pointer p = holder.pointer(type, elements);
                DataBuffer data = Nd4j.createBuffer(p, type, elements, indexer(p, type));
                v = Nd4j.create(data, shape, Nd4j.getStrides(shape, 'c'), 0, 'c');
            }
        }
        views.add(v);
        return v;
    }

    /** Makes {@code array} (a copy of the bytes, big-endian hosts) one of the arrays closed with this tensor. */
    synchronized INDArray track(INDArray array) {
        if (closed) {
            array.close();
            checkOpen();
        }
        views.add(array);
        return array;
    }

    private static Indexer indexer(Pointer p, DataType type) {
        return switch (type) {
            case FLOAT -> FloatIndexer.create((FloatPointer) p);
            case DOUBLE -> DoubleIndexer.create((DoublePointer) p);
            case INT -> IntIndexer.create((IntPointer) p);
            case LONG -> LongIndexer.create((LongPointer) p);
            default -> throw new IllegalArgumentException("dtype " + type);
        };
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the wire tensor was closed: its bytes went back to their pool");
        }
    }

    private synchronized void checkOpenLocked() {
        checkOpen();
    }

    /**
     * Releases every view made from this tensor, then gives the block back to its pool (or
     * frees it). Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (INDArray v : views) {
            DataBuffer d = v.data();
            if (d != null && !v.isEmpty() && !d.wasClosed() && d.closeable()) {
                d.close(); // a view only marks it released (no memory of its own); a copy is freed
            }
        }
        views.clear();
        if (cleanable != null) {
            cleanable.clean(); // runs block.close() now, once
        }
    }

    /**
     * Holds the block; every view's pointer refers to it, so the {@link Cleaner} gives the block
     * back only once neither the tensor nor any view can reach it.
     */
    private static final class Holder {
        final NativeBuffers.Block block;

        Holder(NativeBuffers.Block block) {
            this.block = block;
        }

        Pointer pointer(DataType type, long elements) {
            long address = block.address();
            return switch (type) {
                case FLOAT -> new KeptFloatPointer(address, elements, this);
                case DOUBLE -> new KeptDoublePointer(address, elements, this);
                case INT -> new KeptIntPointer(address, elements, this);
                case LONG -> new KeptLongPointer(address, elements, this);
                default -> throw new IllegalArgumentException("dtype " + type);
            };
        }
    }

    // JavaCPP pointers over the block that keep its holder reachable; they never free anything.

    private static final class KeptFloatPointer extends FloatPointer {
        @SuppressWarnings("unused") private final Holder keep;

        KeptFloatPointer(long address, long count, Holder keep) {
            this.address = address;
            this.limit = count;
            this.capacity = count;
            this.keep = keep;
        }
    }

    private static final class KeptDoublePointer extends DoublePointer {
        @SuppressWarnings("unused") private final Holder keep;

        KeptDoublePointer(long address, long count, Holder keep) {
            this.address = address;
            this.limit = count;
            this.capacity = count;
            this.keep = keep;
        }
    }

    private static final class KeptIntPointer extends IntPointer {
        @SuppressWarnings("unused") private final Holder keep;

        KeptIntPointer(long address, long count, Holder keep) {
            this.address = address;
            this.limit = count;
            this.capacity = count;
            this.keep = keep;
        }
    }

    private static final class KeptLongPointer extends LongPointer {
        @SuppressWarnings("unused") private final Holder keep;

        KeptLongPointer(long address, long count, Holder keep) {
            this.address = address;
            this.limit = count;
            this.capacity = count;
            this.keep = keep;
        }
    }
}
