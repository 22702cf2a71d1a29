package io.bittensor.session;

import io.bittensor.dendrite.PeerResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts this neuron's calls to peers (Forward and Backward) and how many succeeded: overall, per
 * synapse, and since the last {@link #window()} (the rate a metrics row shows). Thread-safe.
 */
public final class RemoteCallStats {
    /** Synapses counted individually at most; calls to further ones count in the totals only. */
    public static final int MAX_PEERS = 10_000;

    /** Calls to one synapse. */
    public record PeerCounts(long forwardOk, long forward, long backwardOk, long backward) {
        PeerCounts plus(boolean isForward, boolean ok) {
            int k = ok ? 1 : 0;
            return isForward ? new PeerCounts(forwardOk + k, forward + 1, backwardOk, backward)
                    : new PeerCounts(forwardOk, forward, backwardOk + k, backward + 1);
        }
    }

    private final Map<String, PeerCounts> byPeer = new LinkedHashMap<>();
    private long calls;
    private long ok;
    private long windowCalls;
    private long windowOk;

    /** Counts one Forward result per peer called. */
    public void recordForward(List<PeerResult> results) {
        record(true, results);
    }

    /** Counts one Backward result per peer called. */
    public void recordBackward(List<PeerResult> results) {
        record(false, results);
    }

    private synchronized void record(boolean forward, List<PeerResult> results) {
        for (PeerResult r : results) {
            calls++;
            ok += r.ok() ? 1 : 0;
            PeerCounts c = byPeer.get(r.synapseKey());
            if (c == null && byPeer.size() >= MAX_PEERS) {
                continue;
            }
            byPeer.put(r.synapseKey(), (c == null ? new PeerCounts(0, 0, 0, 0) : c).plus(forward, r.ok()));
        }
    }

    public synchronized long calls() {
        return calls;
    }

    public synchronized long ok() {
        return ok;
    }

    /** A copy of the per-synapse counts, in the order the synapses were first called. */
    public synchronized Map<String, PeerCounts> byPeer() {
        return new LinkedHashMap<>(byPeer);
    }

    /**
     * The success rate of the calls recorded since the previous call of this method (NaN if none),
     * then starts a new window.
     */
    public synchronized double window() {
        long c = calls - windowCalls;
        long k = ok - windowOk;
        windowCalls = calls;
        windowOk = ok;
        return c == 0 ? Double.NaN : (double) k / c;
    }
}
