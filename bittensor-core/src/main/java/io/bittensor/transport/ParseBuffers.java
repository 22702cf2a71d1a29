package io.bittensor.transport;

import java.util.Deque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded pool of heap arrays that received messages are read into, so that the same
 * 100 KiB-class arrays are reused warm instead of a fresh one (zeroed, then churning the young
 * generation) per message: the fresh arrays were about 60 % of a {@code [64, 1, 512]} wire round
 * trip (docs/serialization.md).
 *
 * <p>Arrays come in size classes (a quarter of a power of two: at most 25 % slack over the
 * length asked for, so messages of one shape share one class however their headers vary). At
 * most {@code maxIdleBytes} are kept idle; what is given back past that, or is larger than it,
 * is dropped to the GC. Arrays on loan are not counted: whoever borrows them bounds their number
 * (an Axon's admission limit). A {@link Lease} never closed is not a leak: its array is heap
 * memory the GC reclaims, and is never handed out again.
 *
 * <p>An array is in the pool only while no lease holds it: {@link Lease#close()} gives it back at
 * most once, and {@link #acquire} takes it out before handing it on. Thread-safe.
 */
public final class ParseBuffers {

    private static final int MIN_CLASS = 4096;

    private final long maxIdleBytes;
    private final ConcurrentHashMap<Integer, Deque<byte[]>> idle = new ConcurrentHashMap<>();
    private final AtomicLong idleBytes = new AtomicLong();

    /** @param maxIdleBytes heap bytes kept idle at most (0 = keep nothing) */
    public ParseBuffers(long maxIdleBytes) {
        if (maxIdleBytes < 0) {
            throw new IllegalArgumentException("maxIdleBytes must be >= 0, got " + maxIdleBytes);
        }
        this.maxIdleBytes = maxIdleBytes;
    }

    /** An array of at least {@code length} bytes, contents undefined, on loan until the lease closes. */
    public Lease acquire(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("length must be >= 0, got " + length);
        }
        int size = sizeClass(length);
        Deque<byte[]> q = size <= maxIdleBytes ? idle.get(size) : null;
        byte[] a = q == null ? null : q.pollFirst();
        if (a != null) {
            idleBytes.addAndGet(-a.length);
        } else {
            a = new byte[size];
        }
        return new Lease(this, a, length);
    }

    /** Heap bytes held idle right now. */
    public long idleBytes() {
        return idleBytes.get();
    }

    /** The bound given at construction. */
    public long maxIdleBytes() {
        return maxIdleBytes;
    }

    private void release(byte[] a) {
        if (idleBytes.addAndGet(a.length) <= maxIdleBytes) {
            idle.computeIfAbsent(a.length, k -> new ConcurrentLinkedDeque<>()).addFirst(a);
        } else {
            idleBytes.addAndGet(-a.length); // over the bound: the GC takes it
        }
    }

    /**
     * The array size for a message of {@code length} bytes: rounded up to a quarter of its
     * highest power of two (so at most 25 % over), at least 4 KiB; {@code length} itself if the
     * rounding would overflow.
     */
    static int sizeClass(int length) {
        if (length <= MIN_CLASS) {
            return MIN_CLASS;
        }
        int step = Integer.highestOneBit(length) >>> 2;
        long rounded = ((long) length + step - 1) / step * step;
        return rounded > Integer.MAX_VALUE - 8 ? length : (int) rounded;
    }

    /** One array on loan; {@link #close()} gives it back (once). Not for sharing between threads
     * without a happens-before edge (hand it over through a queue, an executor, a future). */
    public static final class Lease implements AutoCloseable {
        private final ParseBuffers pool;
        private final byte[] array;
        private final int length;
        private final AtomicBoolean returned = new AtomicBoolean();

        Lease(ParseBuffers pool, byte[] array, int length) {
            this.pool = pool;
            this.array = array;
            this.length = length;
        }

        /** The array (at least {@link #length()} long); not to be touched after {@link #close()}. */
        public byte[] array() {
            if (returned.get()) {
                throw new IllegalStateException("the buffer was given back to its pool");
            }
            return array;
        }

        /** The length asked for. */
        public int length() {
            return length;
        }

        /** True once given back. */
        public boolean isClosed() {
            return returned.get();
        }

        /** Gives the array back; idempotent. */
        @Override
        public void close() {
            if (returned.compareAndSet(false, true)) {
                pool.release(array);
            }
        }
    }
}
