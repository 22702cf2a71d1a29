package io.bittensor.examples.cifar;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One split (train or test) held in memory as bytes: {@link CifarImages#PIXELS} values per image,
 * channel-major (R, G, B planes of 32×32 rows), and one label byte per image. 50 000 images take
 * 150 MB of heap.
 */
public final class CifarSplit {
    private final byte[] pixels;
    private final byte[] labels;
    private final List<String> classes;

    /**
     * @param pixels  {@code labels.length × 3072} bytes (copied)
     * @param labels  class indices in {@code [0, classes.size())} (copied)
     * @param classes class names in label order
     */
    public CifarSplit(byte[] pixels, byte[] labels, List<String> classes) {
        if (pixels.length != (long) labels.length * CifarImages.PIXELS) {
            throw new IllegalArgumentException(labels.length + " labels need " + (long) labels.length * CifarImages.PIXELS
                    + " pixel bytes, got " + pixels.length);
        }
        if (classes.isEmpty() || classes.size() > CifarImages.CLASSES) {
            throw new IllegalArgumentException("1 to " + CifarImages.CLASSES + " classes, got " + classes.size());
        }
        for (byte l : labels) {
            if (l < 0 || l >= classes.size()) {
                throw new IllegalArgumentException("label " + l + " outside the " + classes.size() + " classes");
            }
        }
        this.pixels = pixels.clone();
        this.labels = labels.clone();
        this.classes = List.copyOf(classes);
    }

    public int size() {
        return labels.length;
    }

    public List<String> classes() {
        return classes;
    }

    public int label(int i) {
        return labels[i];
    }

    /** The first {@code n} images (or all when fewer), for CI-sized runs. */
    public CifarSplit head(int n) {
        int k = Math.min(n, size());
        return new CifarSplit(Arrays.copyOf(pixels, k * CifarImages.PIXELS), Arrays.copyOf(labels, k), classes);
    }

    /** Images in a fresh random order. */
    public int[] shuffled(SplittableRandom rng) {
        int[] order = new int[size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** A labelled batch: images {@code [n,3,32,32]}, one-hot labels {@code [n,10]}. */
    public record Batch(INDArray images, INDArray labels) implements io.bittensor.runtime.Batch {
        @Override
        public INDArray inputs() {
            return images;
        }
    }

    /**
     * The images {@code order[from, to)} as {@code [n,3,32,32]} floats in [0, 1] and one-hot labels
     * {@code [n,10]}; augmented when {@code augmentation} is given.
     */
    public Batch batch(int[] order, int from, int to, Augmentation augmentation, SplittableRandom rng) {
        int n = to - from;
        float[] x = new float[n * CifarImages.PIXELS];
        float[] y = new float[n * CifarImages.CLASSES];
        byte[] image = new byte[CifarImages.PIXELS];
        for (int k = 0; k < n; k++) {
            int i = order[from + k];
            System.arraycopy(pixels, i * CifarImages.PIXELS, image, 0, CifarImages.PIXELS);
            byte[] src = augmentation == null ? image : augmentation.apply(image, rng);
            int base = k * CifarImages.PIXELS;
            for (int p = 0; p < CifarImages.PIXELS; p++) {
                x[base + p] = (src[p] & 0xFF) * (1f / 255f);
            }
            y[k * CifarImages.CLASSES + labels[i]] = 1f;
        }
        return new Batch(Nd4j.create(x, new long[] {n, CifarImages.CHANNELS, CifarImages.SIZE, CifarImages.SIZE}, DataType.FLOAT),
                Nd4j.create(y, new long[] {n, CifarImages.CLASSES}, DataType.FLOAT));
    }

    /** Images {@code [from, to)} in stored order, not augmented. */
    public Batch batch(int from, int to) {
        int[] order = new int[to];
        for (int i = from; i < to; i++) {
            order[i] = i;
        }
        return batch(order, from, to, null, null);
    }
}
