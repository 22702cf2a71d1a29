package io.bittensor.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Deque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.BytePointer;

/**
 * A bounded pool of native memory blocks that tensors' bytes are received into (or encoded
 * into), so that a decoded array can be a view of them instead of a copy ({@link WireTensor},
 * {@link TensorCodec#decodeView}).
 *
 * <p>Blocks come in size classes (a quarter of a power of two: at most 25 % over the length asked
 * for, so tensors of one shape share a class), from JavaCPP ({@code malloc}: 16-byte aligned,
 * counted against {@code org.bytedeco.javacpp.maxbytes}). At most {@code maxIdleBytes} are kept
 * idle; a block given back past that, larger than that, or after {@link #close()} is freed at
 * once. Blocks on loan are not counted: whoever borrows them bounds their number (a Dendrite's
 * calls, an Axon's admission limit). A block is in the pool only while no {@link Block} holds it:
 * {@link Block#close()} gives it back at most once. Thread-safe.
 */
public final class NativeBuffers implements AutoCloseable {

    private static final long MIN_CLASS = 4096;

    private final long maxIdleBytes;
    private final ConcurrentHashMap<Long, Deque<Slab>> idle = new ConcurrentHashMap<>();
    private final AtomicLong idleBytes = new AtomicLong();
    private final AtomicLong allocations = new AtomicLong();
    private final AtomicLong lent = new AtomicLong();
    private volatile boolean closed;

    /** @param maxIdleBytes native bytes kept idle at most (0 = every block is freed when given back) */
    public NativeBuffers(long maxIdleBytes) {
        if (maxIdleBytes < 0) {
            throw new IllegalArgumentException("maxIdleBytes must be >= 0, got " + maxIdleBytes);
        }
        this.maxIdleBytes = maxIdleBytes;
    }

    /** A block of at least {@code length} bytes, contents undefined, on loan until closed. */
    public Block acquire(long length) {
        if (length < 0) {
            throw new IllegalArgumentException("length must be >= 0, got " + length);
        }
        long size = sizeClass(length);
        Deque<Slab> q = size <= maxIdleBytes ? idle.get(size) : null;
        Slab s = q == null ? null : q.pollFirst();
        if (s != null) {
            idleBytes.addAndGet(-s.size);
        } else {
            s = new Slab(size);
            allocations.incrementAndGet();
        }
        lent.incrementAndGet();
        return new Block(this, s, length);
    }

    /** Native bytes held idle right now. */
    public long idleBytes() {
        return idleBytes.get();
    }

    /** The bound given at construction. */
    public long maxIdleBytes() {
        return maxIdleBytes;
    }

    /** Blocks on loan right now (acquired, not yet closed). */
    public long lent() {
        return lent.get();
    }

    /** Blocks allocated so far (not taken from the pool): for tests and benches. */
    public long allocations() {
        return allocations.get();
    }

    private void release(Slab s) {
        lent.decrementAndGet();
        if (!closed) {
            if (idleBytes.addAndGet(s.size) <= maxIdleBytes) {
                idle.computeIfAbsent(s.size, k -> new ConcurrentLinkedDeque<>()).addFirst(s);
                if (closed) { // close() raced with us: nothing may stay behind
                    drain();
                }
                return;
            }
            idleBytes.addAndGet(-s.size);
        }
        s.free();
    }

    /** Frees every idle block now; blocks on loan are freed when given back. Idempotent. */
    @Override
    public void close() {
        closed = true;
        drain();
    }

    private void drain() {
        for (Deque<Slab> q : idle.values()) {
            Slab s;
            while ((s = q.pollFirst()) != null) {
                idleBytes.addAndGet(-s.size);
                s.free();
            }
        }
    }

    /** The block size for {@code length} bytes: a quarter of its highest power of two, rounded up. */
    static long sizeClass(long length) {
        if (length <= MIN_CLASS) {
            return MIN_CLASS;
        }
        long step = Long.highestOneBit(length) >>> 2;
        return (length + step - 1) / step * step;
    }

    /** One malloc'd region and a direct buffer over all of it (made once: asByteBuffer is a JNI call). */
    private static final class Slab {
        final long size;
        final BytePointer pointer;
        final ByteBuffer whole;

        Slab(long size) {
            if (size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a block holds < 2 GiB, asked for " + size);
            }
            this.size = size;
            this.pointer = new BytePointer(size);
            if (pointer.isNull()) {
                throw new OutOfMemoryError("could not allocate " + size + " native bytes");
            }
            this.whole = pointer.asByteBuffer().order(ByteOrder.nativeOrder());
        }

        void free() {
            pointer.deallocate();
        }
    }

    /**
     * One block on loan: {@link #address()} and {@link #buffer()} are valid until {@link #close()},
     * which gives it back (once). Hand it between threads only with a happens-before edge.
     */
    public static final class Block implements AutoCloseable {
        private final NativeBuffers pool;
        private final Slab slab;
        private final long length;
        private final AtomicBoolean returned = new AtomicBoolean();

        Block(NativeBuffers pool, Slab slab, long length) {
            this.pool = pool;
            this.slab = slab;
            this.length = length;
        }

        /** The length asked for. */
        public long length() {
            return length;
        }

        /** The native address of the first byte (16-byte aligned). */
        public long address() {
            checkOpen();
            return slab.pointer.address();
        }

        /** A new direct buffer over the first {@link #length()} bytes, position 0, native order. */
        public ByteBuffer buffer() {
            checkOpen();
            return slab.whole.duplicate().limit((int) length).order(ByteOrder.nativeOrder());
        }

        /** True once given back. */
        public boolean isClosed() {
            return returned.get();
        }

        private void checkOpen() {
            if (returned.get()) {
                throw new IllegalStateException("the block was given back to its pool");
            }
        }

        /** Gives the block back (or frees it); idempotent. */
        @Override
        public void close() {
            if (returned.compareAndSet(false, true)) {
                pool.release(slab);
            }
        }
    }
}
