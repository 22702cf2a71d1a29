package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/** Double-precision gradient checks of the DPN's pieces that SameDiff M2.1 lacks: grouped conv and batch norm. */
class DpnGraphGradientTest {
    private static DataType defaultType;

    /** Doubles throughout, so finite differences are meaningful. */
    @BeforeAll
    static void useDouble() {
        defaultType = Nd4j.dataType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restore() {
        Nd4j.setDefaultDataTypes(defaultType, defaultType);
    }

    /**
     * Central finite differences against SameDiff's gradients, for every element of each named
     * variable and of the placeholder "x" (relative error ≤ 1e-5, or absolute ≤ 1e-8 near zero).
     */
    private static boolean check(SameDiff sd, Map<String, INDArray> placeholders, List<String> variables) {
        sd.createGradFunction("x");
        List<String> wanted = new ArrayList<>(variables);
        wanted.add("x");
        Map<String, INDArray> grads = sd.calculateGradients(placeholders, wanted);
        double eps = 1e-6;
        for (String name : wanted) {
            INDArray target = name.equals("x") ? placeholders.get("x") : sd.getArrForVarName(name);
            INDArray analytic = grads.get(name);
            assertNotNull(analytic, "no gradient for " + name);
            for (long i = 0; i < target.length(); i++) {
                double v = target.getDouble(i);
                target.putScalar(i, v + eps);
                double plus = sd.output(placeholders, "loss").get("loss").getDouble(0);
                target.putScalar(i, v - eps);
                double minus = sd.output(placeholders, "loss").get("loss").getDouble(0);
                target.putScalar(i, v);
                double numeric = (plus - minus) / (2 * eps);
                double a = analytic.getDouble(i);
                double err = Math.abs(a - numeric) / Math.max(1e-12, Math.abs(a) + Math.abs(numeric));
                if (err > 1e-5 && Math.abs(a - numeric) > 1e-8) {
                    fail(name + "[" + i + "]: analytic " + a + ", numeric " + numeric);
                }
            }
        }
        return true;
    }

    @Test
    void groupedConvolutionPassesGradientCheckAndEqualsPerGroupConvolution() {
        Nd4j.getRandom().setSeed(7);
        SameDiff sd = SameDiff.create();
        DpnGraph g = new DpnGraph(sd, new SplittableRandom(1), DataType.DOUBLE);
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 4, 5, 5);
        SDVariable y = g.groupedConv("gc", x, 4, 4, 2, 2);
        y.mul(y).sum("loss"); // a loss whose gradient differs per output element
        sd.setLossVariables("loss");
        INDArray in = Nd4j.rand(DataType.DOUBLE, 2, 4, 5, 5).subi(0.5);
        assertTrue(check(sd, Map.of("x", in), List.of("gc_w")));

        // The masked dense conv equals two independent convs on channel halves.
        INDArray w = sd.getArrForVarName("gc_w");
        INDArray out = sd.outputSingle(Map.of("x", in), y.name());
        Conv2DConfig c = Conv2DConfig.builder().kH(3).kW(3).sH(2).sW(2).pH(1).pW(1).dataFormat("NCHW").build();
        for (int grp = 0; grp < 2; grp++) {
            SameDiff ref = SameDiff.create();
            INDArray xg = in.get(SDIndexes.channels(grp * 2, grp * 2 + 2)).dup();
            INDArray wg = w.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(grp * 2, grp * 2 + 2),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(grp * 2, grp * 2 + 2)).dup();
            INDArray expected = ref.cnn.conv2d(ref.constant(xg), ref.constant(wg), c).eval();
            INDArray actual = out.get(SDIndexes.channels(grp * 2, grp * 2 + 2));
            assertTrue(expected.equalsWithEps(actual, 1e-10), "group " + grp);
        }
    }

    @Test
    void trainingBatchNormPassesGradientCheckAndNormalizesEachChannel() {
        Nd4j.getRandom().setSeed(8);
        SameDiff sd = SameDiff.create();
        DpnGraph g = new DpnGraph(sd, new SplittableRandom(2), DataType.DOUBLE);
        g.training(true);
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3, 4, 4);
        SDVariable y = g.norm("bn", x, 3);
        SDVariable weights = sd.constant("w", Nd4j.rand(DataType.DOUBLE, 1, 3, 4, 4));
        y.mul(weights).mul(y).sum("loss");
        sd.setLossVariables("loss");
        sd.getArrForVarName("bn_gamma").assign(Nd4j.create(new double[] {0.5, 1.5, 2.0}));
        sd.getArrForVarName("bn_beta").assign(Nd4j.create(new double[] {0.1, -0.2, 0.3}));
        INDArray in = Nd4j.rand(DataType.DOUBLE, 3, 3, 4, 4).muli(3).subi(1);
        assertTrue(check(sd, Map.of("x", in), List.of("bn_gamma", "bn_beta")));

        // With gamma 1 and beta 0 every channel comes out with mean 0 and variance 1.
        sd.getArrForVarName("bn_gamma").assign(1);
        sd.getArrForVarName("bn_beta").assign(0);
        INDArray out = sd.outputSingle(Map.of("x", in), y.name());
        assertTrue(out.mean(0, 2, 3).equalsWithEps(Nd4j.zeros(DataType.DOUBLE, 3), 1e-9));
        assertTrue(out.var(false, 0, 2, 3).equalsWithEps(Nd4j.ones(DataType.DOUBLE, 3), 1e-3));
        INDArray stats = sd.outputSingle(Map.of("x", in), "bn_bmean");
        assertArrayEquals(in.mean(0, 2, 3).toDoubleVector(), stats.toDoubleVector(), 1e-12);
    }

    @Test
    void evaluationBatchNormUsesRunningStatisticsAndPassesGradientCheck() {
        SameDiff sd = SameDiff.create();
        DpnGraph g = new DpnGraph(sd, new SplittableRandom(3), DataType.DOUBLE);
        g.training(false);
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 2, 3, 3);
        SDVariable y = g.norm("bn", x, 2);
        y.mul(y).sum("loss");
        sd.setLossVariables("loss");
        sd.getArrForVarName("bn_rmean").assign(Nd4j.create(new double[] {1, -1}));
        sd.getArrForVarName("bn_rvar").assign(Nd4j.create(new double[] {4, 0.25}));
        INDArray in = Nd4j.ones(DataType.DOUBLE, 1, 2, 3, 3);
        INDArray out = sd.outputSingle(Map.of("x", in), y.name());
        // channel 0: (1 − 1)/2 = 0; channel 1: (1 + 1)/0.5 = 4 (epsilon aside)
        assertEquals(0, out.getDouble(0, 0, 1, 1), 1e-4);
        assertEquals(4, out.getDouble(0, 1, 1, 1), 1e-3);
        assertTrue(check(sd, Map.of("x", Nd4j.rand(DataType.DOUBLE, 2, 2, 3, 3)), List.of("bn_gamma", "bn_beta")));
    }

    /** Index helpers for NCHW channel ranges. */
    private static final class SDIndexes {
        static org.nd4j.linalg.indexing.INDArrayIndex[] channels(int from, int to) {
            return new org.nd4j.linalg.indexing.INDArrayIndex[] {org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()};
        }
    }
}
