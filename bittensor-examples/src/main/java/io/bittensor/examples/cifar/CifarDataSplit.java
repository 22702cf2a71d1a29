package io.bittensor.examples.cifar;

import io.bittensor.runtime.Batch;
import io.bittensor.runtime.DataSplit;
import io.bittensor.runtime.Dataset;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A {@link CifarSplit} as the runtime batches it: training batches augmented (random crop with
 * 4-pixel padding, horizontal flip; seeded), evaluation batches as stored.
 */
public final class CifarDataSplit implements DataSplit {
    private final CifarSplit split;
    private final Augmentation augmentation;
    private final SplittableRandom rng;

    private CifarDataSplit(CifarSplit split, Augmentation augmentation, SplittableRandom rng) {
        this.split = Objects.requireNonNull(split, "split");
        this.augmentation = augmentation;
        this.rng = rng;
    }

    /**
     * The data set the runtime trains on: the training split augmented as the original
     * ({@link Augmentation#STANDARD}, seeded with {@code seed}), the test split as stored.
     */
    public static Dataset of(CifarData data, long seed) {
        return Dataset.of(new CifarDataSplit(data.train(), Augmentation.STANDARD, new SplittableRandom(seed ^ 0xC1FA7L)),
                new CifarDataSplit(data.test(), null, null));
    }

    @Override
    public int size() {
        return split.size();
    }

    /** Training batches are augmented (when this split is). Called by the training thread only. */
    @Override
    public Batch batch(int[] order, int from, int to) {
        return split.batch(order, from, to, augmentation, rng);
    }

    @Override
    public Batch batch(int from, int to) {
        return split.batch(from, to);
    }

    @Override
    public DataSplit head(int n) {
        return new CifarDataSplit(split.head(n), augmentation, rng);
    }
}
