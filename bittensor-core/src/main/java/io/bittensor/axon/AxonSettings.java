package io.bittensor.axon;

import io.bittensor.tensor.TensorLimits;
import java.time.Duration;

/**
 * The knobs of an {@link Axon}, immutable; built by {@link Axon.Builder}, defaults there and in
 * docs/axon.md.
 *
 * @param bindAddress the address to listen on; {@code null} = every interface
 * @param port the port; 0 = an ephemeral one ({@link Axon#port()} tells which)
 * @param workerThreads neurons run on this many threads at most at once
 * @param maxQueuedCalls calls admitted beyond the running ones, waiting for a worker; past
 *     {@code workerThreads + maxQueuedCalls} a call is answered OVERLOADED at once
 * @param ioThreads Netty event-loop threads (read, parse, verify signatures, write)
 * @param maxInboundMessageBytes the largest request gRPC accepts; bigger ones end with gRPC status
 *     RESOURCE_EXHAUSTED before reaching the Axon
 * @param tensorLimits per-tensor bounds for decoding
 * @param requireSignatures refuse unsigned requests too (a present-but-invalid signature is
 *     always refused)
 * @param nonceWindow how far a signed request's nounce may be from the Axon's clock
 * @param nonceMemory how many (key, nounce) pairs the replay filter remembers at most
 * @param maxGradientNorm incoming Backward gradients with a larger L2 norm are scaled down to it
 * @param shutdownGrace how long {@link Axon#close()} lets calls in flight finish, and how long a
 *     connection past {@code maxConnectionAge} may finish its calls before it is closed
 * @param maxConnectionIdle a connection without calls for this long is closed (GOAWAY); a
 *     peer's client reconnects when it next calls
 * @param maxConnectionAge every connection is closed after this long, so that none a stranger
 *     stalled (or merely forgot) holds a socket and its buffers for ever
 * @param inlineBelow a synapse whose calls take less than this on average is served on the I/O
 *     thread that parsed the request, without the hand-off to a worker; zero = never (docs/axon.md)
 */
public record AxonSettings(
        String bindAddress,
        int port,
        int workerThreads,
        int maxQueuedCalls,
        int ioThreads,
        int maxInboundMessageBytes,
        TensorLimits tensorLimits,
        boolean requireSignatures,
        Duration nonceWindow,
        int nonceMemory,
        double maxGradientNorm,
        Duration shutdownGrace,
        Duration maxConnectionIdle,
        Duration maxConnectionAge,
        Duration inlineBelow) {

    public AxonSettings {
        check(port >= 0 && port <= 65535, "port must be in 0..65535, got " + port);
        check(workerThreads >= 1, "workerThreads must be >= 1, got " + workerThreads);
        check(maxQueuedCalls >= 0, "maxQueuedCalls must be >= 0, got " + maxQueuedCalls);
        check(ioThreads >= 1, "ioThreads must be >= 1, got " + ioThreads);
        check(maxInboundMessageBytes >= 1024, "maxInboundMessageBytes must be >= 1024");
        check(tensorLimits != null, "tensorLimits");
        check(nonceWindow != null && !nonceWindow.isNegative() && !nonceWindow.isZero(),
                "nonceWindow must be > 0");
        check(nonceMemory >= 1, "nonceMemory must be >= 1");
        check(maxGradientNorm > 0, "maxGradientNorm must be > 0 (POSITIVE_INFINITY = no clipping)");
        check(shutdownGrace != null && !shutdownGrace.isNegative(), "shutdownGrace must be >= 0");
        check(maxConnectionIdle != null && maxConnectionIdle.toMillis() > 0, "maxConnectionIdle must be > 0");
        check(maxConnectionAge != null && maxConnectionAge.toMillis() > 0, "maxConnectionAge must be > 0");
        check(inlineBelow != null && !inlineBelow.isNegative() && inlineBelow.toMillis() <= 100,
                "inlineBelow must be in 0..100 ms (zero = never inline)");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
