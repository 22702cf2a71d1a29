package io.bittensor.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CachedGradientsTest {
    /** loss = Σ (x·w)², so d loss / d w = xᵀ · 2(x·w) and d loss / d x = 2(x·w) · wᵀ. */
    private static SameDiff graph(INDArray w) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        SDVariable y = x.mmul(sd.var("w", w));
        sd.var("unused", Nd4j.ones(DataType.DOUBLE, 2));
        sd.math.square(y).sum("loss");
        sd.setLossVariables("loss");
        sd.createGradFunction("x");
        return sd;
    }

    @Test
    void givesTheAnalyticGradientsCallAfterCallAsTheArraysAreReused() {
        INDArray w = Nd4j.rand(DataType.DOUBLE, 3, 2);
        SameDiff sd = graph(w.dup());
        for (int call = 0; call < 4; call++) {
            INDArray x = Nd4j.rand(DataType.DOUBLE, 5, 3).subi(0.5);
            OutAndGrad r = CachedGradients.run(sd, Map.of("x", x), List.of("loss"), List.of("w", "x", "unused"));
            INDArray y = x.mmul(w);
            assertEquals(y.mul(y).sumNumber().doubleValue(), r.getOutputs().get("loss").getDouble(0), 1e-9);
            assertTrue(x.transpose().mmul(y.mul(2)).equalsWithEps(r.getGradients().get("w"), 1e-9), "d/dw, call " + call);
            assertTrue(y.mul(2).mmul(w.transpose()).equalsWithEps(r.getGradients().get("x"), 1e-9), "d/dx, call " + call);
            assertFalse(r.getGradients().containsKey("unused"), "the loss does not reach it");
        }
    }

    @Test
    void agreesWithCalculateGradientsRunOnTheSameGraphBefore() {
        INDArray w = Nd4j.rand(DataType.DOUBLE, 3, 2);
        SameDiff sd = graph(w.dup());
        INDArray x = Nd4j.rand(DataType.DOUBLE, 2, 3);
        INDArray expected = sd.calculateGradients(Map.of("x", x), "w").get("w").dup(); // switches the cache off
        INDArray got = CachedGradients.run(sd, Map.of("x", x), List.of(), List.of("w")).getGradients().get("w");
        assertTrue(expected.equalsWithEps(got, 1e-12));
    }
}
