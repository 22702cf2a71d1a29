package io.bittensor.axon;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class InlinePolicyTest {
    private static final long US = 1_000;
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final InlinePolicy policy = new InlinePolicy(500 * US, 10_000_000 * US, now::get);

    private void record(String key, int n, long nanos, boolean inline) {
        for (int i = 0; i < n; i++) {
            policy.record(key, nanos, inline);
        }
    }

    @Test
    void fastCallsGoInlineOnlyOnceEnoughAreTimed() {
        assertFalse(policy.inline("F:a"), "unknown synapse: worker");
        record("F:a", InlinePolicy.MIN_SAMPLES - 1, 50 * US, false);
        assertFalse(policy.inline("F:a"), "too few calls timed");
        record("F:a", 1, 50 * US, false);
        assertTrue(policy.inline("F:a"));
        assertFalse(policy.inline("B:a"), "each method is timed on its own");
        assertFalse(policy.inline("F:b"), "each synapse is timed on its own");
    }

    @Test
    void slowOrTurningSlowCallsStayOnWorkers() {
        record("F:slow", 100, 2_000 * US, false);
        assertFalse(policy.inline("F:slow"));
        record("F:turns", 100, 50 * US, false);
        assertTrue(policy.inline("F:turns"));
        record("F:turns", 20, 3_000 * US, false); // slow on workers: the average follows
        assertFalse(policy.inline("F:turns"));
    }

    @Test
    void aSlowInlineCallSendsTheSynapseToWorkersForTheCoolDown() {
        record("F:a", 100, 50 * US, false);
        assertTrue(policy.inline("F:a"));
        policy.record("F:a", InlinePolicy.SLOW_FACTOR * 500 * US + 1, true); // one stall
        assertFalse(policy.inline("F:a"), "cooling down");
        now.addAndGet(10_000_000 * US - 1);
        assertFalse(policy.inline("F:a"), "still cooling down");
        now.addAndGet(1);
        assertTrue(policy.inline("F:a"), "fast on average again after the cool-down");
        record("F:a", 50, 50 * US, false);
        policy.record("F:a", InlinePolicy.SLOW_FACTOR * 500 * US + 1, false); // slow on a worker: no stall
        assertTrue(policy.inline("F:a"));
    }

    @Test
    void zeroThresholdNeverInlinesAndMemoryIsBounded() {
        InlinePolicy off = new InlinePolicy(0, 0, now::get);
        for (int i = 0; i < 100; i++) {
            off.record("F:a", 1, false);
        }
        assertFalse(off.inline("F:a"));
        for (int i = 0; i < 3 * InlinePolicy.MAX_KEYS; i++) {
            policy.record("F:" + i, 50 * US, false);
        }
        assertTrue(policy.size() <= InlinePolicy.MAX_KEYS);
        assertThrows(IllegalArgumentException.class, () -> new InlinePolicy(-1, 0, now::get));
    }
}
