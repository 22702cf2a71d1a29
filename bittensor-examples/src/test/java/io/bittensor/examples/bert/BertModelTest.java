package io.bittensor.examples.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.runtime.ModelCheckpoints;
import io.bittensor.runtime.StepResult;
import io.bittensor.runtime.TestResult;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

class BertModelTest {
    private static final BertConfig TINY = new BertConfig(200, 16, 2, 2, 32, 16, 8);

    private static MaskedBatch batch(long seed, int b, int t) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[b * t];
        float[] att = new float[b * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 104 + r.nextInt(96);
            att[i] = 1;
        }
        // Mask positions 1 and 3 of each row with [MASK]; labels are the true ids.
        int[] pos = new int[2 * b];
        int[] labels = new int[2 * b];
        for (int i = 0; i < b; i++) {
            pos[2 * i] = i * t + 1;
            pos[2 * i + 1] = i * t + 3;
        }
        for (int i = 0; i < pos.length; i++) {
            labels[i] = ids[pos[i]];
            ids[pos[i]] = WordPiece.MASK_ID;
        }
        return new MaskedBatch(b, t, ids, att, pos, labels);
    }

    /** The fused op's derivative is NaN above x ≈ 26 (docs/bert.md): ours stays exact out to ±200. */
    @Test
    void geluGradientIsFiniteAndExactForLargeInputs() {
        double[] xs = {-200, -60, -30, -1, -0.25, 0, 0.5, 2, 30, 60, 200};
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.var("x", Nd4j.createFromArray(xs).castTo(DataType.FLOAT));
        BertModel.gelu(sd, x).sum("y");
        sd.setLossVariables("y");
        INDArray y = sd.outputSingle(Map.of(), "y");
        INDArray g = sd.calculateGradients(Map.of(), "x").get("x");
        double sum = 0;
        for (int i = 0; i < xs.length; i++) {
            double s = 1 / (1 + Math.exp(-1.702 * xs[i]));
            sum += xs[i] * s;
            double expected = s + 1.702 * xs[i] * s * (1 - s);
            assertEquals(expected, g.getDouble(i), 1e-4 * Math.max(1, Math.abs(expected)), "d gelu / dx at " + xs[i]);
        }
        assertEquals(sum, y.getDouble(0), 1e-3);
    }

    /**
     * The head runs on a fixed number of rows (masked positions padded, for SameDiff's array cache):
     * the loss must still be the mean over the real masked positions only.
     */
    @Test
    void paddingRowsOfTheHeadDoNotCount() {
        try (BertModel m = new BertModel(TINY, 5, new Adam(1e-3))) {
            int b = 2;
            int t = 16; // 2 × round(0.15 × 16) = 4 slots, at least the masked count
            MaskedBatch all = batch(11, b, t);
            int[] pos = all.maskedPositions();
            int[] lab = all.targets();
            MaskedBatch first = new MaskedBatch(b, t, all.inputIds(), all.attention(), new int[] {pos[0]},
                    new int[] {lab[0]});
            MaskedBatch rest = new MaskedBatch(b, t, all.inputIds(), all.attention(),
                    java.util.Arrays.copyOfRange(pos, 1, pos.length), java.util.Arrays.copyOfRange(lab, 1, lab.length));
            double whole = m.evaluate(all).loss();
            double parts = (m.evaluate(first).loss() + (pos.length - 1) * m.evaluate(rest).loss()) / pos.length;
            assertEquals(whole, parts, 1e-4);
            assertEquals(pos.length, m.evaluate(all).count());
        }
    }

    @Test
    void localTrainingFitsAFixedBatch() {
        try (BertModel m = new BertModel(TINY, 1, new Adam(1e-2))) {
            MaskedBatch b = batch(7, 4, 8);
            double first = m.trainLocal(b).loss();
            double last = first;
            for (int i = 0; i < 60; i++) {
                last = m.trainLocal(b).loss();
            }
            assertTrue(first > 4.5, "starts near ln(200) = 5.3, got " + first);
            assertTrue(last < first / 4, "loss " + first + " → " + last);
        }
    }

    @Test
    void networkStepReturnsTheGradientForThePeers() {
        try (BertModel m = new BertModel(TINY, 2, new Adam(1e-3))) {
            MaskedBatch b = batch(3, 2, 8);
            INDArray network = Nd4j.rand(DataType.FLOAT, 2, 8, 512);
            StepResult r = m.trainWithNetwork(b, network);
            assertNotNull(r.networkGrad());
            assertArrayEquals(new long[] {2, 8, 512}, r.networkGrad().shape());
            assertTrue(r.networkGrad().norm2Number().doubleValue() > 0);
            assertEquals(r.localLoss() + r.remoteLoss() + r.distillLoss(), r.loss(), 1e-4);
        }
    }

    /**
     * The training steps' gradients come from SameDiff's gradient function with its array cache on
     * (BertModel.gradientsAndOutputs): after a few steps every intermediate array is a recycled
     * one. The gradients must still be the loss's: checked against central differences, alone and
     * with the network (whose gradient belongs at the masked positions only).
     */
    @Test
    void trainingGradientsMatchFiniteDifferencesWithTheArrayCacheWarm() {
        try (BertModel m = new BertModel(TINY, 6, new Adam(1e-3))) {
            Nd4j.getRandom().setSeed(5);
            INDArray network = Nd4j.rand(DataType.FLOAT, 2, 8, 512).subi(0.5);
            for (int i = 0; i < 3; i++) { // warm the cache in both modes
                m.trainLocal(batch(20 + i, 2, 8));
                m.trainWithNetwork(batch(30 + i, 2, 8), Nd4j.rand(DataType.FLOAT, 2, 8, 512));
            }
            // One masked position per row of 16: the head's 4 rows hold 2 padding rows, which must not count.
            MaskedBatch full = batch(40, 2, 16);
            MaskedBatch b = new MaskedBatch(2, 16, full.inputIds(), full.attention(),
                    new int[] {full.maskedPositions()[0], full.maskedPositions()[2]},
                    new int[] {full.targets()[0], full.targets()[2]});
            network = Nd4j.rand(DataType.FLOAT, 2, 16, 512).subi(0.5);
            for (INDArray net : java.util.Arrays.asList(null, network)) {
                BertModel.Step s = m.step(b, net);
                Map<String, INDArray> grads = new java.util.HashMap<>();
                s.grads().forEach((k, v) -> grads.put(k, v.dup()));
                for (String name : List.of(BertModel.TOK_EMB, "vocab_b", "layer1_ffn2_w", "head_w", "emb_ln_b")) {
                    INDArray g = grads.get(name);
                    int index = (int) g.castTo(DataType.DOUBLE).reshape(g.length()).argMax(0).getLong(0);
                    double numeric = centralDifference(m, b, net, name, index);
                    assertEquals(numeric, g.getDouble(index), 0.05 * Math.max(0.05, Math.abs(numeric)),
                            name + "[" + index + "] with" + (net == null ? "out" : "") + " the network");
                }
                if (net != null) {
                    INDArray dNet = s.result().networkGrad().dup().reshape(32, 512);
                    int pos = b.maskedPositions()[1];
                    int col = (int) dNet.getRow(pos).castTo(DataType.DOUBLE).argMax(0).getLong(0);
                    double eps = 3e-3;
                    INDArray plus = net.dup().reshape(32, 512);
                    plus.putScalar(pos, col, plus.getDouble(pos, col) + eps);
                    INDArray minus = net.dup().reshape(32, 512);
                    minus.putScalar(pos, col, minus.getDouble(pos, col) - eps);
                    double numeric = (m.loss(b, plus.reshape(2, 16, 512)) - m.loss(b, minus.reshape(2, 16, 512))) / (2 * eps);
                    assertEquals(numeric, dNet.getDouble(pos, col), 0.05 * Math.max(0.05, Math.abs(numeric)));
                    assertTrue(Math.abs(numeric) > 1e-5, "the remote head reads the network at a masked row");
                    assertEquals(0.0, dNet.getRow(0).norm2Number().doubleValue(), 0.0, "position 0 is not masked");
                }
            }
        }
    }

    /**
     * With a [PAD] target weight the head's padding rows (whose input is the joiner's bias alone)
     * are trained towards [PAD]: the step's gradients are the objective's (central differences,
     * with the network too), and the loss it reports stays the masked tokens' own.
     */
    @Test
    void padTargetWeightGivesTheObjectivesGradientsAndReportsTheMaskedLoss() {
        try (BertModel m = new BertModel(TINY, 6, new Adam(1e-3), 0.5); BertModel plain = new BertModel(TINY, 6, new Adam(1e-3))) {
            MaskedBatch full = batch(40, 2, 16);
            // One masked position per row of 16: 4 head rows, 2 of them padding.
            MaskedBatch b = new MaskedBatch(2, 16, full.inputIds(), full.attention(),
                    new int[] {full.maskedPositions()[0], full.maskedPositions()[2]},
                    new int[] {full.targets()[0], full.targets()[2]});
            assertEquals(plain.evaluate(b).loss(), m.evaluate(b).loss(), 1e-6, "the same weights, the same score");
            // A padding row's head input is gelu(joiner_b · W + head_b) before its layer norm; at
            // their initial zeros that is the zero vector, where a layer norm has no derivative
            // (1/√ε): give both biases values first, as any training step does.
            Map<String, INDArray> start = m.parameters();
            Nd4j.getRandom().setSeed(9);
            start.get("joiner_b").assign(Nd4j.randn(DataType.FLOAT, 512).muli(0.5));
            start.get("head_b").assign(Nd4j.randn(DataType.FLOAT, TINY.hidden()).muli(0.5));
            m.setParameters(start);
            assertTrue(m.loss(b, null) > m.evaluate(b).loss() + 1e-3, "the [PAD] term is in the objective");
            Nd4j.getRandom().setSeed(7);
            INDArray network = Nd4j.rand(DataType.FLOAT, 2, 16, 512).subi(0.5);
            for (INDArray net : java.util.Arrays.asList(null, network)) {
                BertModel.Step s = m.step(b, net);
                assertEquals(m.evaluate(b).loss(), s.result().localLoss(), 1e-5, "reported: the masked tokens' loss");
                Map<String, INDArray> grads = new java.util.HashMap<>();
                s.grads().forEach((k, v) -> grads.put(k, v.dup()));
                // joiner_b and head_b are all a padding row reaches; vocab_b[PAD] is its target.
                for (String name : List.of("joiner_b", "head_b", "vocab_b", BertModel.TOK_EMB)) {
                    INDArray g = grads.get(name);
                    int index = name.equals("vocab_b") ? WordPiece.PAD_ID
                            : (int) g.castTo(DataType.DOUBLE).reshape(g.length()).argMax(0).getLong(0);
                    double numeric = centralDifference(m, b, net, name, index);
                    assertEquals(numeric, g.getDouble(index), 0.05 * Math.max(0.05, Math.abs(numeric)),
                            name + "[" + index + "] with" + (net == null ? "out" : "") + " the network");
                }
                assertTrue(grads.get("vocab_b").getDouble(WordPiece.PAD_ID) < -0.1, "[PAD] is pushed up");
            }
        }
    }

    /** Flat positions 1..k[r] of each row r of length t. */
    private static int[] positions(int t, int... perRow) {
        List<Integer> out = new java.util.ArrayList<>();
        for (int r = 0; r < perRow.length; r++) {
            for (int i = 1; i <= perRow[r]; i++) {
                out.add(r * t + i);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The head's row count is fixed by the batch's shape for SameDiff's array cache: b × round(0.15 t)
     * at BERT's rate (320 at 32 × 64, as before training rates), b × the most masked row above it.
     */
    @Test
    void headRowsAreFixedByTheShapeAndTheMostMaskedRow() {
        int[] nine = new int[32];
        java.util.Arrays.fill(nine, 9);
        assertEquals(320, BertModel.maskSlots(32, 64, positions(64, nine)));
        nine[5] = 1;
        assertEquals(320, BertModel.maskSlots(32, 64, positions(64, nine)), "a short row changes nothing");
        int[] sixteen = new int[32];
        java.util.Arrays.fill(sixteen, 16);
        assertEquals(512, BertModel.maskSlots(32, 64, positions(64, sixteen)));
        sixteen[3] = 4;
        sixteen[30] = 11;
        assertEquals(512, BertModel.maskSlots(32, 64, positions(64, sixteen)), "one full row fixes the count");
        assertEquals(2 * 3, BertModel.maskSlots(2, 16, positions(16, 1, 3)), "never fewer than the masked rows");
    }

    /**
     * Trained on masks at a higher rate (more head rows, some of them padding) and scored on BERT's
     * 15 %: the step's gradients are the objective's (central differences, [PAD] target on), and
     * evaluation scores every masked position of its own batches.
     */
    @Test
    void aHigherTrainingMaskRateTrainsWithExactGradientsAndEvaluatesAtFifteenPercent() {
        SplittableRandom r = new SplittableRandom(17);
        int[] doc = new int[14 * 6 + 5]; // six full rows of 16 and a short tail (padding, fewer masks)
        for (int i = 0; i < doc.length; i++) {
            doc[i] = 104 + r.nextInt(96);
        }
        List<int[]> rows = MlmMasking.sequences(List.of(doc), 16);
        assertEquals(7, rows.size());
        MlmMasking train = new MlmMasking(TINY.vocabSize(), 104, 0.4);
        MlmMasking validation = new MlmMasking(TINY.vocabSize(), 104);
        try (BertModel m = new BertModel(TINY, 8, new Adam(1e-3), 1)) {
            for (int i = 0; i < 3; i++) {
                assertTrue(Double.isFinite(m.trainLocal(train.mask(rows.subList(i, i + 4), r)).loss()));
            }
            MaskedBatch b = train.mask(rows.subList(3, 7), r); // its last row is the short tail
            assertEquals(4 * 6, BertModel.maskSlots(4, 16, b.maskedPositions()), "round(0.4 × 14) = 6 per full row");
            assertTrue(b.targets().length < 4 * 6, "the tail leaves padding rows in the head");
            BertModel.Step s = m.step(b, null);
            Map<String, INDArray> grads = new java.util.HashMap<>();
            s.grads().forEach((k, v) -> grads.put(k, v.dup()));
            for (String name : List.of("vocab_b", "head_w", "layer0_wo", BertModel.TOK_EMB)) {
                INDArray g = grads.get(name);
                int index = (int) g.castTo(DataType.DOUBLE).reshape(g.length()).argMax(0).getLong(0);
                double numeric = centralDifference(m, b, null, name, index);
                assertEquals(numeric, g.getDouble(index), 0.05 * Math.max(0.05, Math.abs(numeric)), name + "[" + index + "]");
            }
            MaskedBatch v = validation.mask(rows.subList(0, 4), new SplittableRandom(3));
            assertEquals(4 * 2, v.targets().length, "round(0.15 × 14) = 2 per row");
            assertEquals(v.targets().length, m.evaluate(v).count());
            assertTrue(Double.isFinite(m.evaluate(v).loss()));
        }
    }

    @Test
    void forwardTextServes512WideRowsAndRefusesBadIds() {
        try (BertModel m = new BertModel(TINY, 3, new Adam(1e-3))) {
            INDArray ids = Nd4j.createFromArray(new long[][] {{101, 150, 160, 102}, {101, 170, 102, 0}});
            INDArray y = m.forwardText(ids);
            assertArrayEquals(new long[] {2, 4, 512}, y.shape());
            assertThrows(IllegalArgumentException.class,
                    () -> m.forwardText(Nd4j.createFromArray(new long[][] {{101, 200}})));
            assertThrows(IllegalArgumentException.class,
                    () -> m.forwardText(Nd4j.createFromArray(new long[][] {{101, -1}})));
            assertThrows(IllegalArgumentException.class, () -> m.forwardText(Nd4j.zeros(DataType.LONG, 1, 17)));
        }
    }

    @Test
    void backwardTextMatchesFiniteDifferences() {
        try (BertModel m = new BertModel(TINY, 4, new Adam(1e-3))) {
            INDArray ids = Nd4j.createFromArray(new long[][] {{101, 150, 150, 102}, {101, 170, 102, 0}});
            // The served output reaches the student through a stopped gradient (the student learns
            // by distillation only); with its joiner half at zero, the served gradient is the exact one.
            Map<String, INDArray> p = m.parameters();
            p.get("joiner_wc").assign(0);
            m.setParameters(p);
            Nd4j.getRandom().setSeed(11);
            INDArray g = Nd4j.rand(DataType.FLOAT, 2, 4, 512).subi(0.5);
            Map<String, INDArray> grads = m.backwardText(ids, g).parameterGrads();
            // Check one entry of the token table (id 150 appears twice: both rows must count),
            // one of the positions, and one attention weight.
            check(m, ids, g, grads, BertModel.TOK_EMB, 150 * 16 + 3);
            check(m, ids, g, grads, BertModel.POS_EMB, 2 * 16 + 5);
            check(m, ids, g, grads, "layer0_wo", 7);
            check(m, ids, g, grads, "layer1_ffn1_w", 11);
            check(m, ids, g, grads, "emb_ln_g", 5);
            check(m, ids, g, grads, "joiner_wh", 5);
            // Only parameters the served output reaches (the MLM head is not asked for: SameDiff
            // would hand back uninitialised arrays for it).
            assertTrue(grads.keySet().stream().noneMatch(k -> k.startsWith("head_") || k.equals("vocab_b")), grads.keySet().toString());
            grads.values().forEach(v -> assertTrue(Double.isFinite(v.sumNumber().doubleValue())));
        }
    }

    /** The runtime's face: routing context, a checkpoint through ModelCheckpoints, the epoch line's wording. */
    @Test
    void asTheRuntimesModelItCheckpointsRoutesAndReportsPerMaskedToken(@TempDir Path dir) throws Exception {
        try (BertModel m = new BertModel(TINY, 3, new Adam(1e-3)); BertModel fresh = new BertModel(TINY, 4, new Adam(1e-3))) {
            MaskedBatch b = batch(5, 2, 8);
            m.trainLocal(b);
            m.trainLocal(b);
            INDArray context = m.routerContext(b.inputs());
            assertArrayEquals(new long[] {2, TINY.hidden()}, context.shape());
            assertArrayEquals(new long[] {2, 8}, m.remoteInputs(b.inputs()).shape());
            Path file = dir.resolve("bert.ckpt");
            ModelCheckpoints.save(m, file, Map.of());
            ModelCheckpoints.restore(fresh, file);
            assertEquals(2, fresh.iteration());
            assertEquals(m.optimizerState().keySet(), fresh.optimizerState().keySet());
            assertEquals(m.evaluate(b).loss(), fresh.evaluate(b).loss(), 1e-6);
            // Both continue with the same Adam moments: the same next step.
            assertEquals(m.trainLocal(b).loss(), fresh.trainLocal(b).loss(), 1e-6);
            assertEquals(m.evaluate(b).loss(), fresh.evaluate(b).loss(), 1e-5);
            String line = m.describe(new TestResult(2.0, 0.25, 1, 4, 0));
            assertTrue(line.contains("perplexity 7.4") && line.contains("top-1 25.00 %") && line.contains("1/4 masked"),
                    line);
        }
    }

    private static void check(BertModel m, INDArray ids, INDArray g, Map<String, INDArray> grads, String name, int index) {
        Map<String, INDArray> p = m.parameters();
        INDArray param = p.get(name);
        double eps = 3e-3; // float32 model: a central difference is good to a few per cent
        double orig = param.getDouble(index);
        param.putScalar(index, orig + eps);
        m.setParameters(p);
        double plus = m.forwardText(ids).castTo(DataType.DOUBLE).mul(g).sumNumber().doubleValue();
        param.putScalar(index, orig - eps);
        m.setParameters(p);
        double minus = m.forwardText(ids).castTo(DataType.DOUBLE).mul(g).sumNumber().doubleValue();
        param.putScalar(index, orig);
        m.setParameters(p);
        double numeric = (plus - minus) / (2 * eps);
        double analytic = grads.get(name).getDouble(index);
        assertEquals(numeric, analytic, 0.05 * Math.max(1, Math.abs(numeric)), name + "[" + index + "]");
        assertTrue(Math.abs(analytic) > 1e-6, name + " gradient is zero");
    }

    /** d loss / d parameter[index] (flat index) by central differences, the parameters restored after. */
    private static double centralDifference(BertModel m, MaskedBatch b, INDArray net, String name, int index) {
        Map<String, INDArray> p = m.parameters();
        INDArray param = p.get(name);
        double orig = param.getDouble(index);
        double eps = 3e-3;
        param.putScalar(index, orig + eps);
        m.setParameters(p);
        double plus = m.loss(b, net);
        param.putScalar(index, orig - eps);
        m.setParameters(p);
        double minus = m.loss(b, net);
        param.putScalar(index, orig);
        m.setParameters(p);
        return (plus - minus) / (2 * eps);
    }
}
