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
}
