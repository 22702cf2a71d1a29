package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.runtime.StepResult;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * The hand-written training pass against SameDiff's autodiff of the same graph (whose pieces
 * {@link DpnGraphGradientTest} checks against finite differences).
 */
class DpnEngineTest {
    /** Two stages of two blocks (projection and identity shortcuts), grouped convs, a final map of 8 (2×2 after the pool). */
    static final DpnConfig SMALL = new DpnConfig("small", 4, new int[] {4, 8}, new int[] {8, 8}, new int[] {2, 2},
            new int[] {2, 2}, 2, new int[] {2, 2});

    private static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        assertNotNull(actual, what);
        assertEquals(expected.length(), actual.length(), what);
        INDArray e = expected.castTo(DataType.DOUBLE).reshape(expected.length());
        INDArray a = actual.castTo(DataType.DOUBLE).reshape(actual.length());
        double scale = Math.max(1e-12, e.norm2Number().doubleValue());
        double err = e.sub(a).norm2Number().doubleValue() / scale;
        assertTrue(err < tolerance, what + ": relative error " + err);
    }

    @Test
    void transformAndItsGradientsEqualSameDiffsInDoublePrecision() {
        SameDiff sd = SameDiff.create();
        DpnGraph g = new DpnGraph(sd, new SplittableRandom(5), DataType.DOUBLE);
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3, 32, 32);
        INDArray mean = Nd4j.create(CifarImages.MEAN, new long[] {1, 3, 1, 1}, DataType.FLOAT).castTo(DataType.DOUBLE);
        INDArray std = Nd4j.create(CifarImages.STD, new long[] {1, 3, 1, 1}, DataType.FLOAT).castTo(DataType.DOUBLE);
        SDVariable t = g.transform(SMALL, x.sub(sd.constant(mean)).div(sd.constant(std)), true);
        Nd4j.getRandom().setSeed(11);
        INDArray images = Nd4j.rand(DataType.DOUBLE, 3, 3, 32, 32);
        INDArray weights = Nd4j.rand(DataType.DOUBLE, 3, SMALL.transformDim()).subi(0.5);
        t.mul(sd.constant("r", weights)).sum("loss");
        sd.setLossVariables("loss");
        // Non-trivial gammas and betas, so their paths are exercised.
        for (DpnGraph.Norm n : g.norms()) {
            sd.getArrForVarName(n.gamma()).assign(Nd4j.rand(DataType.DOUBLE, n.channels()).addi(0.5));
            sd.getArrForVarName(n.beta()).assign(Nd4j.rand(DataType.DOUBLE, n.channels()).subi(0.5));
        }
        Map<String, INDArray> expected = sd.calculateGradients(Map.of("x", images), g.parameters());
        INDArray expectedT = sd.outputSingle(Map.of("x", images), t.name());

        Map<String, INDArray> params = new LinkedHashMap<>();
        g.parameters().forEach(p -> params.put(p, sd.getArrForVarName(p)));
        try (DpnEngine engine = new DpnEngine(SMALL, params, DataType.DOUBLE)) {
            for (int pass = 0; pass < 2; pass++) { // the second pass runs on the reused buffers
                INDArray actualT = engine.forward(images);
                assertClose(expectedT, actualT, 1e-10, "transform");
                engine.backward(weights);
                assertEquals(g.parameters().size(), engine.gradients().size());
                for (String p : g.parameters()) {
                    // ~1e-8, not 1e-15: libnd4j's batchnorm_bp rounds differently from the primitives
                    assertClose(expected.get(p), engine.gradients().get(p), 1e-6, p);
                }
                for (DpnGraph.Norm n : g.norms()) {
                    INDArray[] mv = engine.batchStatistics().get(n.name());
                    assertClose(sd.outputSingle(Map.of("x", images), n.batchMean()), mv[0], 1e-10, n.batchMean());
                    assertClose(sd.outputSingle(Map.of("x", images), n.batchVar()), mv[1], 1e-10, n.batchVar());
                }
            }
        }
    }

    /**
     * One SGD step through each path from the same start: same losses, same updates. In float32 a
     * 6-image batch through ~20 batch norms leaves the two correct paths up to ~2 % apart on the
     * layers farthest from the loss (the double-precision test above bounds the engine at 1e-6); a
     * missing or wrong term shows as an error of order one.
     */
    @Test
    void engineStepsMatchSameDiffStepsForEveryHead() {
        CifarSplit.Batch b = DpnModelTest.batch(6, 3);
        INDArray network = Nd4j.rand(DataType.FLOAT, 6, DpnModel.NETWORK_DIM).subi(0.5);
        DpnModel.Options o = new DpnModel.Options(DpnModelTest.TINY, 9, new Sgd(0.5));
        try (DpnModel engine = new DpnModel(o); DpnModel reference = new DpnModel(o)) {
            reference.useSameDiffStep(true);
            engine.useSameDiffStep(false);
            for (String head : new String[] {"probe", "local", "network"}) {
                Map<String, INDArray> before = reference.parameters();
                engine.setParameters(before, reference.runningStatistics());
                StepResult e = step(engine, head, b, network);
                StepResult r = step(reference, head, b, network);
                assertEquals(r.loss(), e.loss(), 1e-4 * Math.abs(r.loss()), head + " loss");
                assertEquals(r.correct(), e.correct(), head + " correct");
                if (head.equals("network")) {
                    assertEquals(r.distillLoss(), e.distillLoss(), 1e-4 * Math.abs(r.distillLoss()), "distill loss");
                    assertClose(r.networkGrad(), e.networkGrad(), 1e-4, "network gradient");
                }
                Map<String, INDArray> pe = engine.parameters();
                reference.parameters().forEach((name, v) -> assertClose(v.sub(before.get(name)),
                        pe.get(name).sub(before.get(name)), 5e-2, head + " step of " + name));
                Map<String, INDArray> se = engine.runningStatistics();
                reference.runningStatistics().forEach((name, v) -> assertClose(v, se.get(name), 1e-4, head + " " + name));
            }
        }
    }

    private static StepResult step(DpnModel m, String head, CifarSplit.Batch b, INDArray network) {
        return switch (head) {
            case "probe" -> m.trainProbe(b.images(), b.labels());
            case "local" -> m.trainLocal(b.images(), b.labels());
            default -> m.trainWithNetwork(b.images(), b.labels(), network);
        };
    }
}
