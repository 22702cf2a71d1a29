package io.bittensor.dendrite;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Per-peer bans: the n-th failure in a row bans a peer for {@code initial × 2^(n-1)}, at most
 * {@code max}; a success forgets the peer. Memory is bounded (least recently touched peers are
 * forgotten first). Thread-safe.
 */
public final class Backoff {
    private record State(int failures, long bannedUntilNanos) {}

    private final long initialNanos;
    private final long maxNanos;
    private final LongSupplier clockNanos;
    private final Map<String, State> peers;

    /**
     * @param clockNanos a monotonic clock in nanoseconds (System::nanoTime, or a fake in tests)
     * @param maxPeers how many failing peers are remembered
     */
    public Backoff(Duration initial, Duration max, LongSupplier clockNanos, int maxPeers) {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("need 0 < initial <= max, got " + initial + ", " + max);
        }
        this.initialNanos = initial.toNanos();
        this.maxNanos = max.toNanos();
        this.clockNanos = clockNanos;
        this.peers = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, State> eldest) {
                return size() > maxPeers;
            }
        };
    }

    /** How long {@code peer} stays banned from now; zero if it is not banned. */
    public synchronized Duration remaining(String peer) {
        State s = peers.get(peer);
        if (s == null) {
            return Duration.ZERO;
        }
        long left = s.bannedUntilNanos() - clockNanos.getAsLong();
        return left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
    }

    public boolean isBanned(String peer) {
        return !remaining(peer).isZero();
    }

    /** Records a failure and returns the ban it earned. */
    public synchronized Duration failure(String peer) {
        State s = peers.get(peer);
        int failures = s == null ? 1 : Math.min(s.failures() + 1, 62);
        long ban = initialNanos;
        for (int i = 1; i < failures && ban < maxNanos; i++) {
            ban = ban > maxNanos / 2 ? maxNanos : ban * 2;
        }
        ban = Math.min(ban, maxNanos);
        peers.put(peer, new State(failures, clockNanos.getAsLong() + ban));
        return Duration.ofNanos(ban);
    }

    /** Peers banned right now. Linear in the peers remembered; meant for metrics scrapes. */
    public synchronized int bannedCount() {
        long now = clockNanos.getAsLong();
        int n = 0;
        for (State st : peers.values()) {
            if (st.bannedUntilNanos() - now > 0) {
                n++;
            }
        }
        return n;
    }

    /** Records a success: the peer's failure count and ban are cleared. */

    public synchronized void success(String peer) {
        peers.remove(peer);
    }

    /** Consecutive failures on record for {@code peer}. */
    public synchronized int failures(String peer) {
        State s = peers.get(peer);
        return s == null ? 0 : s.failures();
    }
}
