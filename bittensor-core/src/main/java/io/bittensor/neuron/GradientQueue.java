package io.bittensor.neuron;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A bounded FIFO of gradients waiting for the neuron's optimizer. Producers (Axon workers serving
 * Backward) never block: when the queue is full the oldest entry is dropped and counted, because a
 * stale gradient is worth less than a fresh one. Thread-safe.
 *
 * @param <T> one queued gradient (e.g. a map from parameter name to its gradient)
 */
public final class GradientQueue<T> {
    private final int capacity;
    private final ArrayDeque<T> items;
    private long dropped;
    private long offered;

    public GradientQueue(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.items = new ArrayDeque<>(Math.min(capacity, 1024));
    }

    /** Adds {@code item}; returns the entry dropped to make room, or {@code null}. */
    public synchronized T offer(T item) {
        if (item == null) {
            throw new NullPointerException("item");
        }
        offered++;
        T evicted = null;
        if (items.size() == capacity) {
            evicted = items.pollFirst();
            dropped++;
        }
        items.addLast(item);
        return evicted;
    }

    /** Removes and returns everything queued, oldest first. */
    public synchronized List<T> drain() {
        List<T> out = new ArrayList<>(items);
        items.clear();
        return out;
    }

    public synchronized int size() {
        return items.size();
    }

    public int capacity() {
        return capacity;
    }

    /** Entries dropped so far because the queue was full. */
    public synchronized long dropped() {
        return dropped;
    }

    /** Entries offered so far (kept or not). */
    public synchronized long offered() {
        return offered;
    }
}
