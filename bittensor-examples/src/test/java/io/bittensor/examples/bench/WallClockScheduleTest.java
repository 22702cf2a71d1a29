package io.bittensor.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.examples.bench.WallClockSchedule.Shape;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WallClockScheduleTest {
    private static final long START = 1_000_000_000L;
    private static final long BUDGET = 1_000_000L; // ns; the test reads the rate at fractions of it

    private final AtomicLong now = new AtomicLong(START);

    private WallClockSchedule schedule(Shape shape, double decayFraction, int warmup) {
        return new WallClockSchedule(2e-3, warmup, shape, decayFraction, START, BUDGET, now::get);
    }

    private double at(WallClockSchedule s, double fractionOfBudget, int iteration) {
        now.set(START + Math.round(fractionOfBudget * BUDGET));
        return s.valueAt(iteration, 0);
    }

    @Test
    void linearHoldsThePeakThenFallsToZeroOverTheLastFraction() {
        WallClockSchedule s = schedule(Shape.LINEAR, 0.4, 0);
        assertEquals(2e-3, at(s, 0, 0), 1e-12);
        assertEquals(2e-3, at(s, 0.6, 500), 1e-12);
        assertEquals(1e-3, at(s, 0.8, 900), 1e-12); // halfway through the decay
        assertEquals(0.5e-3, at(s, 0.9, 950), 1e-12);
        assertEquals(0, at(s, 1.0, 1000), 1e-12);
        assertEquals(0, at(s, 1.5, 1200), 1e-12); // past the budget it stays at 0
    }

    @Test
    void cosineOverTheWholeBudgetIsTheOriginalSchedule() {
        WallClockSchedule s = schedule(Shape.COSINE, 1.0, 0);
        assertEquals(2e-3, at(s, 0, 0), 1e-12);
        assertEquals(1e-3, at(s, 0.5, 10), 1e-12);
        assertEquals(2e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), at(s, 0.25, 10), 1e-12);
        assertEquals(0, at(s, 1.0, 10), 1e-12);
    }

    @Test
    void cosineOverTheLastHalf() {
        WallClockSchedule s = schedule(Shape.COSINE, 0.5, 0);
        assertEquals(2e-3, at(s, 0.5, 10), 1e-12);
        assertEquals(1e-3, at(s, 0.75, 10), 1e-12);
    }

    @Test
    void warmUpRisesLinearlyBySteps() {
        WallClockSchedule s = schedule(Shape.LINEAR, 0.4, 100);
        assertEquals(2e-5, at(s, 0, 0), 1e-12);   // step 1 of 100
        assertEquals(1e-3, at(s, 0, 49), 1e-12);  // step 50 of 100
        assertEquals(2e-3, at(s, 0, 99), 1e-12);
        assertEquals(2e-3, at(s, 0.1, 5000), 1e-12);
        // warm-up and decay multiply: step 50 of the warm-up, halfway through the decay
        assertEquals(0.5e-3, at(s, 0.8, 49), 1e-12);
    }

    @Test
    void aCloneReadsTheSameClock() {
        WallClockSchedule s = schedule(Shape.LINEAR, 0.4, 0);
        now.set(START + BUDGET * 8 / 10);
        assertEquals(s.valueAt(7, 0), s.clone().valueAt(7, 0), 0);
    }

    @Test
    void refusesBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> schedule(Shape.LINEAR, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> schedule(Shape.LINEAR, 1.5, 0));
        assertThrows(IllegalArgumentException.class, () -> schedule(Shape.LINEAR, 0.4, -1));
        assertThrows(IllegalArgumentException.class,
                () -> new WallClockSchedule(0, 0, Shape.LINEAR, 0.4, START, BUDGET, now::get));
        assertThrows(IllegalArgumentException.class,
                () -> new WallClockSchedule(1e-3, 0, Shape.LINEAR, 0.4, START, 0, now::get));
    }
}
