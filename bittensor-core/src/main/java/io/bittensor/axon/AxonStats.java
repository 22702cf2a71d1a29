package io.bittensor.axon;

import io.bittensor.proto.ReturnCode;
import java.util.Map;

/**
 * A snapshot of an Axon's counters.
 *
 * @param answered replies sent so far, by return code (Forward and Backward together)
 * @param inFlight calls admitted and not yet answered (running + queued)
 */
public record AxonStats(Map<ReturnCode, Long> answered, int inFlight) {
    public AxonStats {
        answered = Map.copyOf(answered);
    }

    /** Replies sent with {@code code}. */
    public long count(ReturnCode code) {
        return answered.getOrDefault(code, 0L);
    }
}
