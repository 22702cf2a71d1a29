package io.bittensor.tensor;

import java.util.Arrays;
import java.util.Deque;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A bounded pool of dense C-ordered ND4J arrays, keyed by dtype and shape, for buffers that are
 * needed again and again at the same size (each request's decoded input in an Axon).
 *
 * <p>Why: a fresh native array costs far more than filling it. ND4J's allocation, JavaCPP's
 * bookkeeping and the kernel's first touch of new pages take 30-60 us for 128 KiB on this
 * project's machine, against ~2 us for the copy (docs/benchmarks.md). A pooled array is reused
 * warm.
 *
 * <p>Ownership is explicit: {@link #acquire} hands out a {@link PooledArray}, and closing it gives
 * the array back, or frees its native memory at once when the pool already holds
 * {@code maxIdleBytes} or is closed. {@link #close()} frees every idle array. Nothing waits for
 * a GC. Arrays on loan are not counted: their number is bounded by whoever borrows them (an
 * Axon's admission limit). Thread-safe.
 */
public final class ArrayPool implements AutoCloseable {

    private final long maxIdleBytes;
    private final ConcurrentHashMap<Key, Deque<INDArray>> idle = new ConcurrentHashMap<>();
    private final AtomicLong idleBytes = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param maxIdleBytes native bytes the pool may keep idle (0 = keep nothing: every close frees)
     */
    public ArrayPool(long maxIdleBytes) {
        if (maxIdleBytes < 0) {
            throw new IllegalArgumentException("maxIdleBytes must be >= 0, got " + maxIdleBytes);
        }
        this.maxIdleBytes = maxIdleBytes;
    }

    /**
     * A dense C-ordered array of {@code type} and {@code shape}, outside any workspace, with
     * undefined contents: an idle one if the pool has it, else a new one.
     */
    @SuppressWarnings("try") // the workspace scope is only opened and closed
    public PooledArray acquire(DataType type, long[] shape) {
        Objects.requireNonNull(type, "type");
        Key key = new Key(type, shape.clone());
        Deque<INDArray> q = idle.get(key);
        INDArray a = q == null ? null : q.pollFirst();
        if (a != null) {
            idleBytes.addAndGet(-bytes(a));
            return new PooledArray(this, key, a);
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return new PooledArray(this, key, Nd4j.createUninitialized(type, key.shape, 'c'));
        }
    }

    /** Native bytes held idle right now. */
    public long idleBytes() {
        return idleBytes.get();
    }

    /** The bound given at construction. */
    public long maxIdleBytes() {
        return maxIdleBytes;
    }

    void release(Key key, INDArray a) {
        long size = bytes(a);
        if (size > 0 && !closed) {
            if (idleBytes.addAndGet(size) <= maxIdleBytes) {
                idle.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()).addFirst(a);
                if (closed) { // close() raced with us: nothing may stay behind
                    drain();
                }
                return;
            }
            idleBytes.addAndGet(-size);
        }
        free(a);
    }

    /** Frees every idle array now; arrays on loan are freed when given back. Idempotent. */
    @Override
    public void close() {
        closed = true;
        drain();
    }

    private void drain() {
        for (Deque<INDArray> q : idle.values()) {
            INDArray a;
            while ((a = q.pollFirst()) != null) {
                idleBytes.addAndGet(-bytes(a));
                free(a);
            }
        }
    }

    private static void free(INDArray a) {
        if (a.closeable()) {
            a.close();
        }
    }

    private static long bytes(INDArray a) {
        return a.length() * a.dataType().width();
    }

    /** Dtype and shape, compared by value. */
    static final class Key {
        final DataType type;
        final long[] shape;
        private final int hash;

        Key(DataType type, long[] shape) {
            this.type = type;
            this.shape = shape;
            this.hash = 31 * type.hashCode() + Arrays.hashCode(shape);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.type == type && Arrays.equals(k.shape, shape);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** An array on loan from an {@link ArrayPool}; closing it gives it back (once). */
    public static final class PooledArray implements AutoCloseable {
        private final ArrayPool pool;
        private final Key key;
        private final INDArray array;
        private final AtomicBoolean returned = new AtomicBoolean();

        PooledArray(ArrayPool pool, Key key, INDArray array) {
            this.pool = pool;
            this.key = key;
            this.array = array;
        }

        /** The array; valid until {@link #close()}, after which it may belong to someone else. */
        public INDArray array() {
            if (returned.get()) {
                throw new IllegalStateException("the array was given back to its pool");
            }
            return array;
        }

        /** Gives the array back; idempotent. */
        @Override
        public void close() {
            if (returned.compareAndSet(false, true)) {
                pool.release(key, array);
            }
        }
    }
}
