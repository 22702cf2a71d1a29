package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

class ParameterUpdatersTest {
    @Test
    void sgdStepsUpdateTheLiveParametersInPlaceAndIgnoreUnknownNames() {
        Map<String, INDArray> params = new LinkedHashMap<>();
        params.put("w", Nd4j.ones(DataType.FLOAT, 2, 3));
        params.put("b", Nd4j.zeros(DataType.FLOAT, 3));
        INDArray w = params.get("w");
        try (ParameterUpdaters u = new ParameterUpdaters(new Sgd(0.5), List.of("w", "b"), params::get)) {
            u.apply(Map.of("w", Nd4j.ones(DataType.DOUBLE, 2, 3), "unknown", Nd4j.ones(4)));
            assertEquals(Nd4j.valueArrayOf(new long[] {2, 3}, 0.5f), w, "w -= 0.5 · 1, in place, cast to float");
            assertEquals(Nd4j.zeros(DataType.FLOAT, 3), params.get("b"), "no gradient, no change");
            assertEquals(1, u.iteration());
            assertTrue(u.state().isEmpty(), "SGD keeps no state");
        }
    }

    @Test
    void adamStateRoundTripsSoTheNextStepIsTheSame() {
        Map<String, INDArray> a = Map.of("w", Nd4j.ones(DataType.FLOAT, 4));
        Map<String, INDArray> b = Map.of("w", Nd4j.ones(DataType.FLOAT, 4));
        INDArray g1 = Nd4j.create(new float[] {1, -2, 3, -4});
        INDArray g2 = Nd4j.create(new float[] {0.5f, 0.5f, -1, 2});
        try (ParameterUpdaters ua = new ParameterUpdaters(new Adam(0.01), List.of("w"), a::get);
                ParameterUpdaters ub = new ParameterUpdaters(new Adam(0.01), List.of("w"), b::get)) {
            ua.apply(Map.of("w", g1));
            b.get("w").assign(a.get("w"));
            assertEquals(2, ua.state().size(), "Adam's two moments");
            ub.setState(ua.state(), ua.iteration());
            ua.apply(Map.of("w", g2));
            ub.apply(Map.of("w", g2));
            assertEquals(a.get("w"), b.get("w"));
            assertEquals(2, ub.iteration());

            ub.setState(Map.of("w/M", Nd4j.ones(7)), 0); // does not fit: ignored, that part restarts
            assertNotEquals(Nd4j.ones(DataType.FLOAT, 1, 4), ub.state().get("w/M"));
        }
    }

    /**
     * A model that hands in its own gradient buffers every step (rewritten in place between steps)
     * gets the same Adam steps as one handing in copies, and the consuming path makes no new ND4J
     * arrays once the flat views exist.
     */
    @Test
    void consumingTheSameGradientBuffersEachStepMatchesCopiesAndMakesNoNewArrays() {
        Map<String, INDArray> consumed = new LinkedHashMap<>();
        consumed.put("w", Nd4j.linspace(DataType.FLOAT, 1, 6, 1).reshape(2, 3));
        consumed.put("b", Nd4j.ones(DataType.FLOAT, 3));
        Map<String, INDArray> copied = new LinkedHashMap<>();
        consumed.forEach((k, v) -> copied.put(k, v.dup()));
        ParameterUpdaters a = new ParameterUpdaters(new Adam(0.1), List.of("w", "b"), consumed::get);
        ParameterUpdaters b = new ParameterUpdaters(new Adam(0.1), List.of("w", "b"), copied::get);
        Map<String, INDArray> buffers = Map.of("w", Nd4j.create(DataType.FLOAT, 2, 3), "b", Nd4j.create(DataType.FLOAT, 3));
        long madeInLaterSteps = 0;
        for (int step = 0; step < 4; step++) {
            // The "model" writes this step's gradients into its buffers: g = param + step.
            buffers.get("w").assign(consumed.get("w").add(step));
            buffers.get("b").assign(consumed.get("b").add(step));
            Map<String, INDArray> fresh = Map.of("w", copied.get("w").add(step), "b", copied.get("b").add(step));
            long before = Nd4j.getDeallocatorService().nextValue();
            a.applyConsuming(buffers);
            long made = Nd4j.getDeallocatorService().nextValue() - before - 1;
            if (step > 0) {
                madeInLaterSteps += made;
            }
            b.apply(fresh);
        }
        assertEquals(copied.get("w"), consumed.get("w"));
        assertEquals(copied.get("b"), consumed.get("b"));
        // ND4J M2.1's Adam op and the in-place subtraction make 6 per parameter and step; the two
        // reshapes per parameter of the copying path (8 in all) are gone.
        assertTrue(madeInLaterSteps <= 6 * 2 * 3, "made " + madeInLaterSteps + " ND4J buffers in 3 steps");
    }
}
