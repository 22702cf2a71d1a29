package io.bittensor.examples.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TiedOutputHeadTest {
    private static final int V = 40;
    private static final int H = 6;
    private static final int ROWS = 5;
    private static final int[] LABELS = {3, 17, 3}; // rows 3 and 4 are padding

    private final INDArray t = rand(ROWS, H, 1);
    private final INDArray emb = rand(V, H, 2);
    private final INDArray bias = rand(1, V, 3).reshape(V);

    private static INDArray rand(int r, int c, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, r, c);
    }

    /** Mean over the labelled rows of −log softmax(t·Eᵀ + b)[label], in double, from scratch. */
    private double reference(INDArray t, INDArray emb, INDArray bias) {
        return reference(t, emb, bias, 0);
    }

    /** The same plus w · Σ over the padding rows of −log softmax(…)[PAD] / labelled rows. */
    private double reference(INDArray t, INDArray emb, INDArray bias, double padWeight) {
        double sum = 0;
        for (int i = 0; i < (padWeight > 0 ? ROWS : LABELS.length); i++) {
            double[] z = new double[V];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                double d = bias.getDouble(v);
                for (int k = 0; k < H; k++) {
                    d += t.getDouble(i, k) * emb.getDouble(v, k);
                }
                z[v] = d;
                max = Math.max(max, d);
            }
            double s = 0;
            for (double d : z) {
                s += Math.exp(d - max);
            }
            boolean real = i < LABELS.length;
            sum += (real ? 1 : padWeight) * (Math.log(s) + max - z[real ? LABELS[i] : WordPiece.PAD_ID]);
        }
        return sum / LABELS.length;
    }

    @Test
    void lossMatchesTheDefinitionAndIgnoresPaddingRows() {
        try (TiedOutputHead head = new TiedOutputHead(V, H)) {
            INDArray logits = t.mmul(emb.transpose()).addRowVector(bias);
            int[] labels = {(int) logits.getRow(0).argMax().getLong(0), (int) logits.getRow(1).argMax().getLong(0) == 0 ? 1 : 0,
                    (int) logits.getRow(2).argMax().getLong(0)}; // rows 0 and 2 right, row 1 wrong
            assertEquals(2, head.score(t, emb, bias, labels).correct());
            double loss = head.score(t, emb, bias, LABELS).loss();
            assertEquals(reference(t, emb, bias), loss, 1e-5);
            INDArray other = t.dup();
            other.getRow(4).assign(100); // a padding row
            assertEquals(loss, head.score(other, emb, bias, LABELS).loss(), 1e-6);
        }
    }

    @Test
    void gradientsMatchCentralDifferencesAndAccumulate() {
        try (TiedOutputHead head = new TiedOutputHead(V, H)) {
            INDArray dEmb = Nd4j.create(DataType.FLOAT, V, H);
            INDArray dBias = Nd4j.create(DataType.FLOAT, V);
            INDArray[] dT = new INDArray[1];
            head.train(t, emb, bias, LABELS, dEmb, dBias, false, dT);
            INDArray dt = dT[0].dup();
            INDArray dE = dEmb.dup();
            INDArray dB = dBias.dup();
            double eps = 1e-2;
            for (int[] at : new int[][] {{0, 1}, {2, 5}, {1, 0}}) {
                assertEquals(numeric(t, at[0] * H + at[1], eps), dt.getDouble(at[0], at[1]), 2e-3, "d t" + at[0]);
            }
            assertEquals(0.0, dt.getRow(3).norm2Number().doubleValue(), 0.0, "padding rows get no gradient");
            for (int idx : new int[] {3 * H + 2, 17 * H, 25 * H + 4}) {
                assertEquals(numeric(emb, idx, eps), dE.getDouble(idx), 2e-3, "d E " + idx);
            }
            for (int idx : new int[] {3, 17, 30}) {
                assertEquals(numeric(bias, idx, eps), dB.getDouble(idx), 2e-3, "d b " + idx);
            }
            // A second call accumulating doubles d E and d b (same inputs); d t is the call's own.
            head.train(t, emb, bias, LABELS, dEmb, dBias, true, dT);
            assertEquals(0.0, dEmb.sub(dE.mul(2)).norm2Number().doubleValue(), 1e-5);
            assertEquals(0.0, dBias.sub(dB.mul(2)).norm2Number().doubleValue(), 1e-5);
            assertEquals(0.0, dT[0].sub(dt).norm2Number().doubleValue(), 1e-6);
        }
    }

    /**
     * With a [PAD] target weight the padding rows are trained towards [PAD] (an explicit option of
     * BertModel): the gradients are the objective's, padding rows included; the score is unchanged.
     */
    @Test
    void padTargetWeightTrainsPaddingRowsTowardsPadAndLeavesTheScore() {
        double w = 0.5;
        try (TiedOutputHead plain = new TiedOutputHead(V, H); TiedOutputHead head = new TiedOutputHead(V, H, w)) {
            TiedOutputHead.Score s = head.score(t, emb, bias, LABELS);
            assertEquals(plain.score(t, emb, bias, LABELS).loss(), s.loss(), 1e-6);
            assertEquals(reference(t, emb, bias, w), s.objective(), 1e-5);
            assertTrue(s.objective() > s.loss() + 1e-3, "the padding rows add to the objective");
            INDArray dEmb = Nd4j.create(DataType.FLOAT, V, H);
            INDArray dBias = Nd4j.create(DataType.FLOAT, V);
            INDArray[] dT = new INDArray[1];
            head.train(t, emb, bias, LABELS, dEmb, dBias, false, dT);
            double eps = 1e-2;
            for (int[] at : new int[][] {{0, 1}, {3, 2}, {4, 5}}) {
                assertEquals(numeric(t, at[0] * H + at[1], eps, w), dT[0].getDouble(at[0], at[1]), 2e-3, "d t" + at[0]);
            }
            assertTrue(dT[0].getRow(4).norm2Number().doubleValue() > 1e-3, "padding rows are trained");
            for (int idx : new int[] {WordPiece.PAD_ID * H + 1, 3 * H + 2, 25 * H + 4}) {
                assertEquals(numeric(emb, idx, eps, w), dEmb.getDouble(idx), 2e-3, "d E " + idx);
            }
            for (int idx : new int[] {WordPiece.PAD_ID, 3, 30}) {
                assertEquals(numeric(bias, idx, eps, w), dBias.getDouble(idx), 2e-3, "d b " + idx);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new TiedOutputHead(V, H, -1));
        assertThrows(IllegalArgumentException.class, () -> new TiedOutputHead(V, H, Double.NaN));
    }

    private double numeric(INDArray param, int flatIndex, double eps) {
        return numeric(param, flatIndex, eps, 0);
    }

    private double numeric(INDArray param, int flatIndex, double eps, double padWeight) {
        INDArray flat = param.reshape(param.length());
        double orig = flat.getDouble(flatIndex);
        flat.putScalar(flatIndex, orig + eps);
        double plus = reference(t, emb, bias, padWeight);
        flat.putScalar(flatIndex, orig - eps);
        double minus = reference(t, emb, bias, padWeight);
        flat.putScalar(flatIndex, orig);
        return (plus - minus) / (2 * eps);
    }
}
