package io.bittensor.examples.bert;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterSub;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The MLM head's tied 30 522-way output layer and its cross entropy, written out over libnd4j ops
 * with the {@code [rows, V]} array kept from one step to the next: logits = t·Eᵀ + b, exp(z − max)
 * in place, the loss averaged over the real (labelled) rows, and on training
 * d logits = (softmax − onehot) / n in the same array, then d t = d logits · E, d E (+)= d logitsᵀ · t
 * and d b (+)= Σ rows.
 *
 * <p>Why outside SameDiff: in M2.1 the graph's version of this layer and its loss made ~13
 * {@code [rows, V]} arrays a step (39 MB each at 320 rows), and its array cache missed some of them
 * every step; fresh native arrays are zero-filled and page-faulted, and that took more of the step
 * than the arithmetic (docs/bert.md, third round). Here one such array is written and read in place.
 *
 * <p>Rows past the labels are padding (they keep the shapes fixed) and count for nothing in the
 * score. In training they count for nothing either, unless the head is made with a [PAD] target
 * weight w &gt; 0: then each padding row is also trained towards [PAD] with w times a real row's
 * weight (objective = mean CE over the real rows + w · Σ over padding rows CE([PAD]) / real rows),
 * an explicit choice of {@link BertModel} (see there). Not thread-safe: the model that owns it
 * serializes its calls.
 */
final class TiedOutputHead implements AutoCloseable {
    /** Buffers for at most this many row counts (a training batch's, an evaluation's last). */
    private static final int MAX_SHAPES = 3;

    private final int vocab;
    private final int hidden;
    private final double padWeight;
    private final Map<Integer, Buffers> buffers = new LinkedHashMap<>();

    /**
     * The loss averaged over the real rows, how many of them the top logit got right, and the
     * training objective (the loss plus the padding rows' [PAD] term, when there is one).
     */
    record Score(double loss, int correct, double objective) {}

    /** A head whose padding rows count for nothing. */
    TiedOutputHead(int vocab, int hidden) {
        this(vocab, hidden, 0);
    }

    /**
     * @param padWeight weight of each padding row's cross entropy towards [PAD], relative to a real
     *                  row's, in training (0: none)
     */
    TiedOutputHead(int vocab, int hidden, double padWeight) {
        if (!(padWeight >= 0) || Double.isInfinite(padWeight)) {
            throw new IllegalArgumentException("[PAD] target weight must be finite and >= 0, got " + padWeight);
        }
        this.vocab = vocab;
        this.hidden = hidden;
        this.padWeight = padWeight;
    }

    /**
     * Forward only.
     *
     * @param t      the head's transform {@code [rows, H]}
     * @param emb    the tied token table {@code [V, H]}
     * @param bias   {@code [V]}
     * @param labels the true ids of the first {@code labels.length} rows (the rest are padding)
     */
    Score score(INDArray t, INDArray emb, INDArray bias, int[] labels) {
        Forward f = forward(t, emb, bias, labels);
        f.rowSums.close();
        return f.score;
    }

    /**
     * Forward and backward: the score, d loss / d t (a buffer, valid until the next call), and
     * d loss / d E and d loss / d b written into (or, with {@code accumulate}, added to) {@code dEmb}
     * and {@code dBias}.
     */
    Score train(INDArray t, INDArray emb, INDArray bias, int[] labels, INDArray dEmb, INDArray dBias,
            boolean accumulate, INDArray[] dT) {
        Forward f = forward(t, emb, bias, labels);
        Buffers b = f.buffers;
        INDArray z = b.logits; // now exp(z − max) per row
        // d logits = w·(softmax − onehot), w = 1/n on real rows and 0 on padding (or the [PAD]
        // target's weight): one pass scales exp(z − max) by w / Σ, then w comes off at the labels.
        INDArray scale = b.trainWeights.div(f.rowSums);
        z.muliColumnVector(scale);
        scale.close();
        int trained = padWeight > 0 ? rows(b) : labels.length;
        ScatterSub minusW = new ScatterSub(b.flat, b.realIndices(trained),
                b.trainWeights.reshape(b.trainWeights.length()).get(NDArrayIndex.interval(0, trained)));
        minusW.addOutputArgument(b.flat);
        Nd4j.exec(minusW);
        INDArray rowSum = z.sum(0);
        if (accumulate) {
            dBias.addi(rowSum);
        } else {
            dBias.assign(rowSum);
        }
        rowSum.close();
        f.rowSums.close();
        Nd4j.gemm(z, emb, b.dT, false, false, 1.0, 0.0);
        Nd4j.gemm(z, t, dEmb, true, false, 1.0, accumulate ? 1.0 : 0.0);
        dT[0] = b.dT;
        return f.score;
    }

    /**
     * The array {@link #train} writes d loss / d t into for a transform of {@code rows} rows (the
     * same array call after call, until a head of another row count evicts it).
     */
    INDArray gradientBuffer(int rows) {
        return buffers(rows).dT;
    }

    private static int rows(Buffers b) {
        return (int) b.logits.size(0);
    }

    /** The score, the buffers (logits now exp(z − max)) and each row's Σ exp(z − max) {@code [rows, 1]}. */
    private record Forward(Score score, Buffers buffers, INDArray rowSums) {}

    private Forward forward(INDArray t, INDArray emb, INDArray bias, int[] labels) {
        int rows = (int) t.size(0);
        if (t.size(1) != hidden || labels.length == 0 || labels.length > rows) {
            throw new IllegalArgumentException("head input " + java.util.Arrays.toString(t.shape()) + " for "
                    + labels.length + " labels");
        }
        Buffers b = buffers(rows);
        b.setLabels(labels, vocab, padWeight);
        INDArray z = b.logits;
        Nd4j.gemm(t, emb, z, false, true, 1.0, 0.0);
        z.addiRowVector(bias);
        INDArray argmax = Nd4j.argMax(z, 1);
        int[] predicted = argmax.castTo(DataType.INT).toIntVector();
        argmax.close();
        int correct = 0;
        for (int i = 0; i < labels.length; i++) { // the real rows only (at most ~15 % of a batch's tokens)
            correct += predicted[i] == labels[i] ? 1 : 0;
        }
        // loss_i = log Σ exp(z − max) + max − z[label], exact for any spread of the logits (libnd4j's
        // log_softmax is log(softmax): −∞ once a logit sits ~88 below the row's largest).
        Nd4j.exec(DynamicCustomOp.builder("gather").addInputs(b.flat, b.labelIndices).addOutputs(b.picked)
                .addIntegerArguments(0).build());
        INDArray max = z.max(true, 1);
        z.subiColumnVector(max);
        Transforms.exp(z, false);
        INDArray sums = z.sum(true, 1);
        INDArray perRow = Transforms.log(sums, true).addi(max).subi(b.picked.reshape(rows, 1));
        double objective = Double.NaN;
        if (padWeight > 0) {
            INDArray trained = perRow.mul(b.trainWeights);
            objective = trained.sumNumber().doubleValue();
            trained.close();
        }
        double loss = perRow.muli(b.rowWeights).sumNumber().doubleValue();
        objective = padWeight > 0 ? objective : loss;
        max.close();
        perRow.close();
        return new Forward(new Score(loss, correct, objective), b, sums);
    }

    private Buffers buffers(int rows) {
        Buffers b = buffers.get(rows);
        if (b == null) {
            if (buffers.size() >= MAX_SHAPES) {
                buffers.values().forEach(Buffers::close);
                buffers.clear();
            }
            b = new Buffers(rows, vocab, hidden);
            buffers.put(rows, b);
        }
        return b;
    }

    @Override
    public void close() {
        buffers.values().forEach(Buffers::close);
        buffers.clear();
    }

    /** One row count's arrays: the logits and their flat view, d t, the picked log-probabilities, indices and weights. */
    private static final class Buffers {
        final INDArray logits;
        final INDArray flat;
        final INDArray dT;
        final INDArray picked;
        final INDArray labelIndices;
        final INDArray rowWeights;
        /** The training weights: rowWeights, plus the [PAD] target's on padding rows (then its own array). */
        INDArray trainWeights;
        final int[] indices;
        int real = -1;

        Buffers(int rows, int vocab, int hidden) {
            logits = Nd4j.create(DataType.FLOAT, rows, vocab);
            flat = logits.reshape('c', new long[] {(long) rows * vocab}); // a view: the same buffer
            dT = Nd4j.create(DataType.FLOAT, rows, hidden);
            picked = Nd4j.create(DataType.FLOAT, rows);
            labelIndices = Nd4j.create(DataType.INT, rows);
            rowWeights = Nd4j.create(DataType.FLOAT, rows, 1);
            trainWeights = rowWeights;
            indices = new int[rows];
        }

        /** Flat indices {@code row·V + label} (padding rows: their column 0, [PAD]) and the rows' weights. */
        void setLabels(int[] labels, int vocab, double padWeight) {
            for (int i = 0; i < indices.length; i++) {
                indices[i] = i * vocab + (i < labels.length ? labels[i] : 0);
            }
            labelIndices.assign(Nd4j.createFromArray(indices));
            if (real != labels.length) {
                real = labels.length;
                rowWeights.assign(0);
                rowWeights.get(NDArrayIndex.interval(0, real), NDArrayIndex.all()).assign(1.0 / real);
                if (padWeight > 0) {
                    if (trainWeights == rowWeights) {
                        trainWeights = Nd4j.create(DataType.FLOAT, indices.length, 1);
                    }
                    trainWeights.assign(padWeight / real);
                    trainWeights.get(NDArrayIndex.interval(0, real), NDArrayIndex.all()).assign(1.0 / real);
                }
            }
        }

        INDArray realIndices(int n) {
            return labelIndices.get(NDArrayIndex.interval(0, n));
        }

        void close() {
            if (trainWeights != rowWeights && trainWeights.closeable()) {
                trainWeights.close();
            }
            for (INDArray a : new INDArray[] {logits, dT, picked, labelIndices, rowWeights}) {
                if (a.closeable()) {
                    a.close();
                }
            }
        }
    }
}
