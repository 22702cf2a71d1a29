package io.bittensor.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.listeners.Listener;
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

    /**
     * A listener sees a forward activation before the ops after it run: an objective sum(t ⊙ g)
     * whose placeholder g is filled in place from t when t appears (here g = 2t, so the gradients
     * are those of sum(t²)), in one run of the gradient function, call after call.
     */
    @Test
    void aListenerCanFillAPlaceholderFromAnActivationBeforeItIsRead() {
        INDArray w = Nd4j.rand(DataType.DOUBLE, 3, 2);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        SDVariable g = sd.placeHolder("g", DataType.DOUBLE, -1, 2);
        SDVariable t = x.mmul(sd.var("w", w.dup())).rename("t");
        t.mul(g).sum("objective");
        sd.setLossVariables("objective");
        for (int call = 0; call < 3; call++) {
            INDArray xv = Nd4j.rand(DataType.DOUBLE, 4, 3).subi(0.5);
            INDArray gv = Nd4j.zeros(DataType.DOUBLE, 4, 2);
            int[] seen = {0};
            Listener fill = CachedGradients.onActivation("t", activation -> {
                gv.assign(activation.mul(2));
                seen[0]++;
            });
            INDArray got = CachedGradients.run(sd, Map.of("x", xv, "g", gv), List.of(), List.of("w"), List.of(fill))
                    .getGradients().get("w");
            assertEquals(1, seen[0], "the transform is computed once");
            INDArray y = xv.mmul(w);
            assertTrue(xv.transpose().mmul(y.mul(2)).equalsWithEps(got, 1e-9), "d sum(t²) / dw, call " + call);
        }
    }
}
