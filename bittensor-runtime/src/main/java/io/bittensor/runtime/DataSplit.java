package io.bittensor.runtime;

/**
 * A training or test split the runtime can batch. Implementations hold their examples in compact
 * form and build each batch's arrays on demand (normalising, augmenting, one-hot encoding).
 */
public interface DataSplit {
    /** Examples in the split. */
    int size();

    /** The examples {@code order[from..to-1]}: a training step's batch in a shuffled epoch. */
    Batch batch(int[] order, int from, int to);

    /** The examples {@code from..to-1} in stored order (evaluation). */
    Batch batch(int from, int to);

    /** The first {@code n} examples (quick runs and tests); {@code 0 <= n <= size()}. */
    DataSplit head(int n);
}
