package io.bittensor.metrics;

import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Bounds the {@code peer} label: peers are unbounded (and a caller's key is whatever it claims),
 * Prometheus series are not. The first {@code max} distinct well-formed keys get a label of their
 * own, for the life of the process; later ones share {@value #OTHER}; anything that is not
 * {@code 0x} + 64 hex is {@value #UNKNOWN}.
 */
final class PeerLabels {
    static final String OTHER = "other";
    static final String UNKNOWN = "unknown";
    private static final Pattern KEY = Pattern.compile("0x[0-9a-fA-F]{64}");

    private final int max;
    private final ConcurrentHashMap<String, Boolean> labelled = new ConcurrentHashMap<>();

    PeerLabels(int max) {
        if (max < 0) {
            throw new IllegalArgumentException("max must be >= 0, got " + max);
        }
        this.max = max;
    }

    String of(String peer) {
        if (peer == null || peer.length() != 66 || !KEY.matcher(peer).matches()) {
            return UNKNOWN;
        }
        peer = peer.toLowerCase(java.util.Locale.ROOT); // one peer, one label
        if (labelled.containsKey(peer)) {
            return peer;
        }
        synchronized (this) {
            if (labelled.size() < max) {
                labelled.putIfAbsent(peer, Boolean.TRUE);
                return peer;
            }
        }
        return labelled.containsKey(peer) ? peer : OTHER;
    }
}
