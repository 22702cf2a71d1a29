package io.bittensor.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class EpochProgressTest {
    @Test
    void emitsAtMostOncePerIntervalAndAlwaysAtTheEnd() {
        AtomicLong now = new AtomicLong();
        List<String> lines = new ArrayList<>();
        EpochProgress p = new EpochProgress(3, 100, 1.0, now::get, lines::add);
        for (int done = 1; done <= 100; done++) {
            now.addAndGet(100_000_000L); // 0.1 s per step
            p.update(done, 0.5, 0.25);
        }
        // 10 s in all, a line per second: steps 10, 20, ..., 100.
        assertEquals(10, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).startsWith("epoch 3 [##------------------]  10% 10/100"), lines.get(0));
        assertTrue(lines.get(0).contains("loss 0.5000") && lines.get(0).contains("acc 25.0%"), lines.get(0));
        assertTrue(lines.get(0).contains("10.0 steps/s") && lines.get(0).contains("eta 9s"), lines.get(0));
        assertTrue(lines.get(9).startsWith("epoch 3 [####################] 100% 100/100"), lines.get(9));
        assertTrue(!lines.get(9).contains("eta"), lines.get(9));
    }

    @Test
    void leavesOutFiguresItDoesNotHave() {
        String line = new EpochProgress(1, 4, 0, () -> 0, s -> { }).line(2, Double.NaN, Double.NaN, 1_000_000_000L);
        assertEquals("epoch 1 [##########----------]  50% 2/4  2.0 steps/s  eta 1s", line);
    }
}
