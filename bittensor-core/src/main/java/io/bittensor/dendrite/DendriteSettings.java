package io.bittensor.dendrite;

import io.bittensor.tensor.TensorLimits;
import java.time.Duration;

/**
 * The knobs of a {@link Dendrite}, immutable; built by {@link Dendrite.Builder}, defaults there
 * and in docs/dendrite.md.
 *
 * @param timeout the deadline of each peer's call (Forward and Backward)
 * @param remoteIp the address this peer advertises; a synapse at this address is called on
 *     {@code localhost}. {@code null} = never rewrite
 * @param signRequests sign every request with the dendrite's key (RequestSigner)
 * @param maxChannels open channels kept at most; the least recently used is closed first
 * @param banInitial ban after a peer's first failure in a row; doubles with each further one
 * @param banMax the longest ban
 * @param maxRemembered failing peers remembered at most (their ban state)
 * @param maxInboundMessageBytes largest reply accepted
 * @param ioThreads Netty event-loop threads (send, receive, decode replies)
 * @param tensorLimits per-tensor bounds for decoding replies
 */
public record DendriteSettings(
        Duration timeout,
        String remoteIp,
        boolean signRequests,
        int maxChannels,
        Duration banInitial,
        Duration banMax,
        int maxRemembered,
        int maxInboundMessageBytes,
        int ioThreads,
        TensorLimits tensorLimits) {

    public DendriteSettings {
        check(timeout != null && !timeout.isNegative() && !timeout.isZero(), "timeout must be > 0");
        check(maxChannels >= 1, "maxChannels must be >= 1, got " + maxChannels);
        check(banInitial != null && !banInitial.isNegative() && !banInitial.isZero(),
                "banInitial must be > 0");
        check(banMax != null && banMax.compareTo(banInitial) >= 0, "banMax must be >= banInitial");
        check(maxRemembered >= 1, "maxRemembered must be >= 1");
        check(maxInboundMessageBytes >= 1024, "maxInboundMessageBytes must be >= 1024");
        check(ioThreads >= 1, "ioThreads must be >= 1");
        check(tensorLimits != null, "tensorLimits");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
