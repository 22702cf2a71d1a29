package io.bittensor.axon;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Decides, per synapse and method, whether an admitted call runs on the I/O thread that parsed
 * it instead of being handed to the worker pool (docs/axon.md, "Inline calls").
 *
 * <p>Why: a hand-off costs two thread wake-ups per call (I/O thread to worker, worker back to
 * the I/O thread to write), which for a model of a few microseconds is most of the call. Why not
 * always: a call on an I/O thread holds up every other connection that thread serves for as long
 * as it runs.
 *
 * <p>How: every call's time in the Axon (decode, neuron, encode) feeds a moving average per
 * synapse and method. Calls run inline only once {@link #MIN_SAMPLES} calls are known and the
 * average is under the threshold. An inline call that takes over {@link #SLOW_FACTOR} times the
 * threshold sends that synapse back to the workers for a cool-down, so a model that turns slow
 * stalls an I/O thread once per cool-down at most. Thread-safe; memory bounded by
 * {@link #MAX_KEYS}.
 */
final class InlinePolicy {
    /** Calls timed before any runs inline. */
    static final int MIN_SAMPLES = 16;
    /** An inline call this many times over the threshold starts a cool-down. */
    static final int SLOW_FACTOR = 4;
    /** Synapse/method pairs remembered at most; past it the memory starts over. */
    static final int MAX_KEYS = 4096;

    private final long thresholdNanos;
    private final long coolDownNanos;
    private final LongSupplier clock;
    private final ConcurrentHashMap<String, Timing> timings = new ConcurrentHashMap<>();

    /**
     * @param thresholdNanos calls whose average time is under this run inline; 0 = never
     * @param coolDownNanos how long a synapse stays on the workers after a slow inline call
     * @param clock monotonic nanoseconds
     */
    InlinePolicy(long thresholdNanos, long coolDownNanos, LongSupplier clock) {
        if (thresholdNanos < 0 || coolDownNanos < 0) {
            throw new IllegalArgumentException("threshold and cool-down must be >= 0");
        }
        this.thresholdNanos = thresholdNanos;
        this.coolDownNanos = coolDownNanos;
        this.clock = clock;
    }

    /** True if the next call to {@code key} should run on the calling (I/O) thread. */
    boolean inline(String key) {
        if (thresholdNanos == 0) {
            return false;
        }
        Timing t = timings.get(key);
        return t != null && t.inline(thresholdNanos, clock.getAsLong());
    }

    /** Records that a call to {@code key} took {@code nanos}, inline or on a worker. */
    void record(String key, long nanos, boolean wasInline) {
        if (thresholdNanos == 0) {
            return;
        }
        Timing t = timings.get(key);
        if (t == null) {
            if (timings.size() >= MAX_KEYS) {
                timings.clear(); // strangers' keys are refused before this; served ones come back
            }
            t = timings.computeIfAbsent(key, k -> new Timing());
        }
        t.record(nanos, wasInline && nanos > SLOW_FACTOR * thresholdNanos,
                clock.getAsLong() + coolDownNanos);
    }

    /** Synapse/method pairs remembered now. */
    int size() {
        return timings.size();
    }

    /** Moving average of one synapse/method's call time, and its cool-down. */
    private static final class Timing {
        private long samples;
        private long averageNanos;
        private long coolUntilNanos;
        private boolean cooling;

        synchronized boolean inline(long thresholdNanos, long now) {
            if (cooling && now - coolUntilNanos < 0) {
                return false;
            }
            cooling = false;
            return samples >= MIN_SAMPLES && averageNanos < thresholdNanos;
        }

        synchronized void record(long nanos, boolean slowInline, long coolUntil) {
            // Weight 1/8: a handful of slow calls moves the average over the threshold.
            averageNanos = samples == 0 ? nanos : averageNanos + (nanos - averageNanos) / 8;
            samples++;
            if (slowInline) {
                cooling = true;
                coolUntilNanos = coolUntil;
            }
        }
    }
}
