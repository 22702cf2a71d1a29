package io.bittensor.runtime;

import java.util.SplittableRandom;

/**
 * Which training examples each step takes. One pass per epoch (the default): a fresh seeded
 * shuffle at each epoch's start, then consecutive batches of it, the last one possibly smaller.
 * Continuing (epochs of a fixed number of steps): the shuffled order carries on across epochs, and
 * when fewer than a batch are left it is reshuffled and starts again (the rest skipped), so every
 * batch is full. Owned by the training thread.
 */
final class BatchOrder {
    private final int size;
    private final int batch;
    private final boolean continuing;
    private final SplittableRandom rng;
    private int[] order;
    private int cursor;
    private Batch ahead; // drawn by peek, not yet taken

    BatchOrder(int size, int batch, boolean continuing, SplittableRandom rng) {
        this.size = size;
        this.batch = batch;
        this.continuing = continuing;
        this.rng = rng;
    }

    /** At each epoch's start: a new shuffle, unless the order continues. */
    void startEpoch() {
        if (!continuing || order == null) {
            reshuffle();
            ahead = null; // it belonged to the old shuffle
        }
    }

    /** The next batch of {@code split} (whose size is this order's): the peeked one if any. */
    Batch next(DataSplit split) {
        Batch b = ahead != null ? ahead : draw(split);
        ahead = null;
        return b;
    }

    /**
     * The batch the next {@link #next} will return (the same instance), without taking it: a
     * networked step routes it while training on the current one. A peeked batch of a continuing
     * order is not lost when the epoch stops early; it opens the next epoch.
     */
    Batch peek(DataSplit split) {
        if (ahead == null) {
            ahead = draw(split);
        }
        return ahead;
    }

    private Batch draw(DataSplit split) {
        if (continuing && cursor + Math.min(batch, size) > size) {
            reshuffle();
        }
        int from = cursor;
        int to = Math.min(size, from + batch);
        cursor = to;
        return split.batch(order, from, to);
    }

    private void reshuffle() {
        order = Epochs.shuffled(size, rng);
        cursor = 0;
    }
}
