package io.bittensor.crypto;

import static io.bittensor.crypto.NonceWindow.Verdict.ACCEPTED;
import static io.bittensor.crypto.NonceWindow.Verdict.REPLAYED;
import static io.bittensor.crypto.NonceWindow.Verdict.STALE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class NonceWindowTest {

    private static final long SECOND = 1_000_000L;
    private final AtomicLong now = new AtomicLong(1_000_000 * SECOND);

    private NonceWindow window(int max) {
        return new NonceWindow(Duration.ofSeconds(30), now::get, max);
    }

    @Test
    void acceptsOnceThenRefusesReplay() {
        NonceWindow w = window(100);
        long n = now.get();
        assertEquals(ACCEPTED, w.check("a", n));
        assertEquals(REPLAYED, w.check("a", n));
        assertEquals(ACCEPTED, w.check("b", n), "the same nounce from another key is fresh");
        assertEquals(ACCEPTED, w.check("a", n + 1));
    }

    @Test
    void outsideTheWindowIsStale() {
        NonceWindow w = window(100);
        long t = now.get();
        assertEquals(ACCEPTED, w.check("a", t - 30 * SECOND), "edge is inside");
        assertEquals(ACCEPTED, w.check("a", t + 30 * SECOND), "edge is inside");
        assertEquals(STALE, w.check("a", t - 30 * SECOND - 1));
        assertEquals(STALE, w.check("a", t + 30 * SECOND + 1));
        assertEquals(STALE, w.check("a", Long.MIN_VALUE));
        assertEquals(STALE, w.check("a", Long.MAX_VALUE));
    }

    @Test
    void replayAfterTheWindowIsStaleAndMemoryIsReleased() {
        NonceWindow w = window(100);
        long n = now.get();
        assertEquals(ACCEPTED, w.check("a", n));
        now.addAndGet(31 * SECOND);
        assertEquals(STALE, w.check("a", n));
        assertEquals(ACCEPTED, w.check("b", now.get()));
        assertEquals(1, w.remembered(), "the expired pair was forgotten");
    }

    @Test
    void memoryStaysBoundedAndNoReplayIsEverAccepted() {
        int max = 50;
        NonceWindow w = window(max);
        long base = now.get() - 20 * SECOND;
        List<Long> accepted = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            long n = base + i * 1000L;
            if (w.check("k" + (i % 7), n) == ACCEPTED) {
                accepted.add(n);
            }
            assertTrue(w.remembered() <= max, "remembered " + w.remembered());
        }
        assertEquals(500, accepted.size(), "increasing fresh nounces are all accepted");
        assertTrue(w.forcedEvictions() > 0);
        for (int i = 0; i < 500; i++) {
            assertTrue(w.check("k" + (i % 7), base + i * 1000L) != ACCEPTED, "replay #" + i);
        }
    }

    @Test
    void underFloodAnOlderNounceIsStaleButFreshOnesPass() {
        NonceWindow w = window(3);
        long t = now.get();
        assertEquals(ACCEPTED, w.check("a", t - 10));
        assertEquals(ACCEPTED, w.check("b", t - 5));
        assertEquals(ACCEPTED, w.check("c", t - 4));
        assertEquals(ACCEPTED, w.check("d", t - 3)); // forgets (a, t-10): floor t-10
        assertEquals(STALE, w.check("a", t - 10), "forgotten pair cannot be replayed");
        assertEquals(STALE, w.check("z", t - 11), "older than the floor");
        assertEquals(ACCEPTED, w.check("z", t));
    }

    @Test
    void threadSafeUnderContention() throws Exception {
        NonceWindow w = window(100_000);
        long n = now.get();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int thread = 0; thread < 4; thread++) {
                results.add(pool.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < 2000; i++) {
                        ok += w.check("same", n + i) == ACCEPTED ? 1 : 0;
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(30, TimeUnit.SECONDS);
            }
            assertEquals(2000, total, "each nounce accepted exactly once across threads");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new NonceWindow(Duration.ZERO, now::get, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new NonceWindow(Duration.ofSeconds(1), now::get, 0));
    }
}
