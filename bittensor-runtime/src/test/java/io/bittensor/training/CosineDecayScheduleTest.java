package io.bittensor.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CosineDecayScheduleTest {
    @Test
    void fallsFromBaseToFloorThenStays() {
        CosineDecaySchedule s = new CosineDecaySchedule(0.01, 0.1, 100);
        assertEquals(0.01, s.valueAt(0, 0), 1e-12);
        assertEquals(0.0055, s.valueAt(50, 0), 1e-12);
        assertEquals(0.001, s.valueAt(100, 0), 1e-12);
        assertEquals(0.001, s.valueAt(5000, 3), 1e-12);
        for (int i = 1; i <= 100; i++) {
            assertTrue(s.valueAt(i, 0) <= s.valueAt(i - 1, 0));
        }
        assertEquals(s.valueAt(37, 0), s.clone().valueAt(37, 0));
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new CosineDecaySchedule(0, 0.1, 10));
        assertThrows(IllegalArgumentException.class, () -> new CosineDecaySchedule(0.1, 1.5, 10));
        assertThrows(IllegalArgumentException.class, () -> new CosineDecaySchedule(0.1, 0.1, 0));
    }
}
