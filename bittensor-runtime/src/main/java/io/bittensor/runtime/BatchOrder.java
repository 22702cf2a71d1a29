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
        }
    }

    /** The next batch of {@code split} (whose size is this order's). */
    Batch next(DataSplit split) {
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
