package io.bittensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class Nd4jSmokeTest {
    @Test
    void nativeBackendLoadsAndMultiplies() {
        assertEquals(6.0, Nd4j.createFromArray(1.0f, 2.0f).mul(2).sumNumber().doubleValue(), 1e-6);
    }
}
