package io.bittensor.runtime;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A {@link DataSplit} of Gaussian blobs, one per class, around well-separated centres: learnable in an epoch. */
final class Blobs implements DataSplit {
    private final float[][] x;
    private final int[] y;
    private final int classes;

    private Blobs(float[][] x, int[] y, int classes) {
        this.x = x;
        this.y = y;
        this.classes = classes;
    }

    static Blobs of(int n, int features, int classes, long seed) {
        SplittableRandom centres = new SplittableRandom(42);
        float[][] mu = new float[classes][features];
        for (float[] m : mu) {
            for (int j = 0; j < features; j++) {
                m[j] = (float) (centres.nextDouble() * 6 - 3);
            }
        }
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] x = new float[n][features];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(classes);
            for (int j = 0; j < features; j++) {
                x[i][j] = mu[y[i]][j] + (float) (rng.nextDouble() - 0.5);
            }
        }
        return new Blobs(x, y, classes);
    }

    record B(INDArray inputs, INDArray labels) implements Batch {}

    @Override
    public int size() {
        return y.length;
    }

    @Override
    public Batch batch(int[] order, int from, int to) {
        int[] idx = Arrays.copyOfRange(order, from, to);
        float[][] rows = new float[idx.length][];
        float[][] oneHot = new float[idx.length][classes];
        for (int r = 0; r < idx.length; r++) {
            rows[r] = x[idx[r]];
            oneHot[r][y[idx[r]]] = 1;
        }
        return new B(Nd4j.create(rows).castTo(DataType.FLOAT), Nd4j.create(oneHot).castTo(DataType.FLOAT));
    }

    @Override
    public Batch batch(int from, int to) {
        int[] idx = new int[to - from];
        Arrays.setAll(idx, i -> from + i);
        return batch(idx, 0, idx.length);
    }

    @Override
    public Blobs head(int n) {
        return new Blobs(Arrays.copyOf(x, n), Arrays.copyOf(y, n), classes);
    }
}
