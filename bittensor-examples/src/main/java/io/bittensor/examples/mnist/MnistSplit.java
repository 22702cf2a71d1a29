package io.bittensor.examples.mnist;

import java.io.IOException;
import java.nio.file.Path;
import io.bittensor.runtime.DataSplit;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One MNIST split held compactly (one byte per pixel, on the heap) and turned into ND4J batches on
 * demand: images {@code [b, 1, 28, 28]} as floats in [0, 1] (what PyTorch's {@code ToTensor} gives,
 * so peers exchange the same values as the original), labels one-hot {@code [b, 10]}.
 */
public final class MnistSplit implements DataSplit {
    public static final int ROWS = 28;
    public static final int COLS = 28;
    public static final int PIXELS = ROWS * COLS;
    public static final int CLASSES = 10;

    private final byte[] pixels; // size() * PIXELS
    private final byte[] labels; // size()

    private MnistSplit(byte[] pixels, byte[] labels) {
        this.pixels = pixels;
        this.labels = labels;
    }

    /** A batch: images {@code [b,1,28,28]}, one-hot labels {@code [b,10]}, and the class of each row. */
    public record Batch(INDArray images, INDArray labels, int[] classes) implements io.bittensor.runtime.Batch {
        @Override
        public INDArray inputs() {
            return images;
        }

        @Override
        public int size() {
            return classes.length;
        }
    }

    /** Reads an images/labels IDX pair and checks that they form an MNIST split. */
    static MnistSplit read(Path images, Path labels) {
        try {
            return of(Idx.read(images), Idx.read(labels), images + " / " + labels);
        } catch (IOException e) {
            throw new MnistDataException("cannot read MNIST files " + images + ", " + labels + ": " + e.getMessage(), e);
        } catch (Idx.IdxFormatException e) {
            throw new MnistDataException(e.getMessage() + "; delete the file and start again to fetch it anew", e);
        }
    }

    /** Checks shapes (n×28×28 images, n labels), and label range, then copies the elements. */
    static MnistSplit of(Idx.Array images, Idx.Array labels, String source) {
        int[] d = images.dims();
        if (d.length != 3 || d[1] != ROWS || d[2] != COLS) {
            throw new MnistDataException(source + ": images have dimensions " + Arrays.toString(d) + ", expected [n, 28, 28]");
        }
        int[] l = labels.dims();
        if (l.length != 1 || l[0] != d[0]) {
            throw new MnistDataException(source + ": labels have dimensions " + Arrays.toString(l) + " for " + d[0] + " images");
        }
        byte[] px = Arrays.copyOfRange(images.bytes(), images.offset(), images.offset() + d[0] * PIXELS);
        byte[] lb = Arrays.copyOfRange(labels.bytes(), labels.offset(), labels.offset() + l[0]);
        for (int i = 0; i < lb.length; i++) {
            if (lb[i] < 0 || lb[i] >= CLASSES) {
                throw new MnistDataException(source + ": label " + (lb[i] & 0xff) + " at index " + i + " is not a digit");
            }
        }
        return new MnistSplit(px, lb);
    }

    @Override
    public int size() {
        return labels.length;
    }

    /** The class (0..9) of example i. */
    public int label(int i) {
        return labels[i];
    }

    /** The first n examples (small runs and tests). */
    @Override
    public MnistSplit head(int n) {
        if (n < 0 || n > size()) {
            throw new IllegalArgumentException("head(" + n + ") of a split of " + size());
        }
        return new MnistSplit(Arrays.copyOf(pixels, n * PIXELS), Arrays.copyOf(labels, n));
    }

    /** Examples from..to-1 in their stored order. */
    @Override
    public Batch batch(int from, int to) {
        int[] idx = new int[to - from];
        Arrays.setAll(idx, i -> from + i);
        return batch(idx);
    }

    /** Examples order[from..to-1]. */
    @Override
    public Batch batch(int[] order, int from, int to) {
        return batch(Arrays.copyOfRange(order, from, to));
    }

    /** The examples at the given indices, in that order. */
    public Batch batch(int[] indices) {
        int b = indices.length;
        float[] img = new float[b * PIXELS];
        float[] oneHot = new float[b * CLASSES];
        int[] classes = new int[b];
        for (int r = 0; r < b; r++) {
            int src = indices[r] * PIXELS;
            int dst = r * PIXELS;
            for (int k = 0; k < PIXELS; k++) {
                img[dst + k] = (pixels[src + k] & 0xff) / 255f;
            }
            classes[r] = labels[indices[r]];
            oneHot[r * CLASSES + classes[r]] = 1f;
        }
        return new Batch(Nd4j.create(img, new long[] {b, 1, ROWS, COLS}, DataType.FLOAT),
                Nd4j.create(oneHot, new long[] {b, CLASSES}, DataType.FLOAT), classes);
    }
}
