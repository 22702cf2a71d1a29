package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StepPhasesTest {
    @Test
    void meansArePerStepAndResetStartsOver() {
        StepPhases p = new StepPhases();
        assertTrue(Double.isNaN(p.meanMillis(StepPhases.Phase.TRAIN)));
        p.add(StepPhases.Phase.TRAIN, 30_000_000);
        p.add(StepPhases.Phase.WAIT, 2_000_000);
        p.stepDone();
        p.add(StepPhases.Phase.TRAIN, 10_000_000);
        p.stepDone();
        assertEquals(20.0, p.meanMillis(StepPhases.Phase.TRAIN), 1e-9);
        assertEquals(1.0, p.meanMillis(StepPhases.Phase.WAIT), 1e-9);
        assertEquals(0.0, p.meanMillis(StepPhases.Phase.CONTEXT), 1e-9);
        assertEquals("ms per step: peer gradients 0.0, context 0.0, route 0.0, wait 1.0, train 20.0, hand-off 0.0 (2 steps)",
                p.summary());
        p.reset();
        assertEquals(0, p.steps());
        assertTrue(Double.isNaN(p.meanMillis(StepPhases.Phase.TRAIN)));
    }
}
