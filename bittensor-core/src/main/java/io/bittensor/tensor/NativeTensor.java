package io.bittensor.tensor;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.proto.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A wire tensor whose {@code buffer} bytes are still in an ND4J array's native memory, made by
 * {@link TensorCodec#encodeNative}: {@link #meta()} has every field but {@code buffer}, and
 * {@link #writeBuffer} streams the bytes when the message is written, with no heap copy of the
 * whole tensor (a fresh 128 KiB {@code byte[]} per {@code [64, 1, 512]} tensor was a third of a
 * wire round trip).
 *
 * <p>The array read is the caller's, or a private dense copy (a view, another order or dtype)
 * that {@link #close()} frees at once. The caller's array must stay open and unchanged until the
 * tensor is written. Not thread-safe: one writer, then close.
 */
public final class NativeTensor implements AutoCloseable {
    private final Tensor meta;
    private final INDArray source;
    private final boolean owned;
    private final int byteLength;
    /** Big-endian hosts only: the bytes already swapped into a heap tensor. */
    private final ByteString heapBytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    NativeTensor(Tensor meta, INDArray source, boolean owned, int byteLength) {
        this.meta = meta;
        this.source = source;
        this.owned = owned;
        this.byteLength = byteLength;
        this.heapBytes = null;
    }

    private NativeTensor(Tensor encoded) {
        this.meta = encoded.toBuilder().clearBuffer().build();
        this.source = null;
        this.owned = false;
        this.byteLength = encoded.getBuffer().size();
        this.heapBytes = encoded.getBuffer();
    }

    /** An already encoded tensor in this form (its bytes are on the heap). */
    public static NativeTensor ofHeap(Tensor encoded) {
        return new NativeTensor(encoded);
    }

    /** Every field of the wire tensor but {@code buffer}. */
    public Tensor meta() {
        return meta;
    }

    /** The length of {@code buffer}: product(shape) x element size. */
    public int byteLength() {
        return byteLength;
    }

    /**
     * Writes the {@code buffer} bytes (little-endian elements in C order) to {@code out}, through
     * {@code chunk} (any length &gt; 0): native memory reaches an {@code OutputStream} only through
     * a heap array, and a small reused one stays in cache.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public void writeBuffer(OutputStream out, byte[] chunk) throws IOException {
        checkOpen();
        if (byteLength == 0) {
            return;
        }
        if (heapBytes != null) {
            heapBytes.writeTo(out);
            return;
        }
        try {
            ByteBuffer src = source.data().asNio(); // a new view: position 0
            if (src.remaining() != byteLength) { // the codec checked density: never expected
                throw new IllegalStateException("native buffer of " + src.remaining()
                        + " bytes for a tensor of " + byteLength);
            }
            int left = byteLength;
            while (left > 0) {
                int n = Math.min(left, chunk.length);
                src.get(chunk, 0, n);
                out.write(chunk, 0, n);
                left -= n;
            }
        } finally {
            Reference.reachabilityFence(source); // asNio() does not keep ND4J's buffer reachable
        }
    }

    /** The whole tensor, its bytes copied to the heap (for callers that need a {@link Tensor}). */
    public Tensor toTensor() {
        checkOpen();
        if (heapBytes != null) {
            return meta.toBuilder().setBuffer(heapBytes).build();
        }
        if (byteLength == 0) {
            return meta;
        }
        byte[] bytes = new byte[byteLength];
        try {
            source.data().asNio().get(bytes);
        } finally {
            Reference.reachabilityFence(source);
        }
        return meta.toBuilder().setBuffer(UnsafeByteOperations.unsafeWrap(bytes)).build();
    }

    /** True while the bytes are read from a private copy (not the caller's array). */
    boolean ownsCopy() {
        return owned;
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the tensor was closed");
        }
    }

    /** Frees the private copy, if any; the caller's array is never closed here. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true) && owned && source.closeable()) {
            source.close();
        }
    }
}
