package io.bittensor.crypto;

import java.time.Duration;
import java.util.HashSet;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replay protection for signed requests: a nounce (microseconds since the Unix epoch) is
 * {@link Verdict#ACCEPTED} once per neuron key if it lies within ±window of the injected clock.
 *
 * <ul>
 *   <li>Outside [now - window, now + window]: {@link Verdict#STALE}.</li>
 *   <li>A (neuronKey, nounce) pair already accepted: {@link Verdict#REPLAYED}. A pair is remembered
 *       until it leaves the window (then it would be STALE anyway).</li>
 *   <li>Memory is bounded by {@code maxRemembered} pairs. When full after dropping the expired
 *       pairs, the pair with the oldest nounce is forgotten and its nounce becomes a <em>floor</em>:
 *       from then on every nounce at or below the floor is STALE. So a replay is never accepted,
 *       even of a forgotten pair; under a flood beyond capacity the acceptance window narrows from
 *       the past side instead of the memory growing. Size {@code maxRemembered} above the peak
 *       accepted request rate times 2 × window.</li>
 * </ul>
 * Thread-safe (one lock; each check is O(log n)).
 */
public final class NonceWindow {

    /** The outcome of {@link #check}. */
    public enum Verdict { ACCEPTED, STALE, REPLAYED }

    private static final Logger LOG = LoggerFactory.getLogger(NonceWindow.class);

    private record Seen(String neuronKey, long nounce) {
    }

    private final long windowMicros;
    private final LongSupplier clockMicros;
    private final int maxRemembered;
    private final Set<Seen> seen = new HashSet<>();
    private final PriorityQueue<Seen> byNounce =
            new PriorityQueue<>((a, b) -> Long.compare(a.nounce(), b.nounce()));
    private long floor = Long.MIN_VALUE;
    private long forcedEvictions;

    /**
     * @param window how far a nounce may be from now, either way (&gt; 0)
     * @param clockMicros now, in microseconds since the Unix epoch
     * @param maxRemembered the most pairs kept in memory (&gt; 0)
     */
    public NonceWindow(Duration window, LongSupplier clockMicros, int maxRemembered) {
        if (window == null || window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("window must be > 0, got " + window);
        }
        if (maxRemembered <= 0) {
            throw new IllegalArgumentException("maxRemembered must be > 0, got " + maxRemembered);
        }
        this.windowMicros = TimeUnit.MICROSECONDS.convert(window); // saturates, never overflows
        this.clockMicros = Objects.requireNonNull(clockMicros, "clockMicros");
        this.maxRemembered = maxRemembered;
    }

    /** A clock in microseconds since the Unix epoch from the system clock. */
    public static LongSupplier systemClockMicros() {
        return () -> {
            java.time.Instant now = java.time.Instant.now();
            return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
        };
    }

    /** Accepts {@code (neuronKey, nounceMicros)} once, if fresh; see the class comment. */
    public synchronized Verdict check(String neuronKey, long nounceMicros) {
        Objects.requireNonNull(neuronKey, "neuronKey");
        long now = clockMicros.getAsLong();
        long oldest = saturatedAdd(now, -windowMicros);
        if (nounceMicros < oldest || nounceMicros > saturatedAdd(now, windowMicros)
                || nounceMicros <= floor) {
            return Verdict.STALE;
        }
        Seen pair = new Seen(neuronKey, nounceMicros);
        if (seen.contains(pair)) {
            return Verdict.REPLAYED;
        }
        // Forget what has left the window: it can only come back as STALE.
        while (!byNounce.isEmpty() && byNounce.peek().nounce() < oldest) {
            seen.remove(byNounce.poll());
        }
        seen.add(pair);
        byNounce.add(pair);
        if (byNounce.size() > maxRemembered) {
            Seen evicted = byNounce.poll();
            seen.remove(evicted);
            floor = Math.max(floor, evicted.nounce());
            if (forcedEvictions++ == 0) {
                LOG.warn("nonce window full ({} pairs): forgetting the oldest and refusing nounces"
                        + " at or below it", maxRemembered);
            }
            // Even when the evicted pair is this one, accepting it is right (first sight); the
            // floor now refuses any repeat of it.
        }
        return Verdict.ACCEPTED;
    }

    /** How many pairs are remembered now (at most maxRemembered). */
    public synchronized int remembered() {
        return seen.size();
    }

    /** How many pairs were forgotten early because memory was full (a sign of overload). */
    public synchronized long forcedEvictions() {
        return forcedEvictions;
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        // Overflow iff both operands have the sign opposite to the result.
        if (((a ^ r) & (b ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return r;
    }
}
