package io.bittensor.session;

import io.bittensor.dendrite.PeerResult;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts this neuron's calls to peers and how many succeeded, overall and since the last
 * {@link #window()} (the rate a progress line or a metrics row shows). Thread-safe.
 */
public final class RemoteCallStats {
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong ok = new AtomicLong();
    private long windowCalls;
    private long windowOk;

    /** Counts every result (one per peer called; Forward or Backward). */
    public void record(List<PeerResult> results) {
        long good = 0;
        for (PeerResult r : results) {
            if (r.ok()) {
                good++;
            }
        }
        synchronized (this) {
            calls.addAndGet(results.size());
            ok.addAndGet(good);
        }
    }

    public long calls() {
        return calls.get();
    }

    public long ok() {
        return ok.get();
    }

    /**
     * The success rate of the calls recorded since the previous call of this method (NaN if none),
     * then starts a new window.
     */
    public synchronized double window() {
        long c = calls.get() - windowCalls;
        long k = ok.get() - windowOk;
        windowCalls = calls.get();
        windowOk = ok.get();
        return c == 0 ? Double.NaN : (double) k / c;
    }
}
