package io.bittensor.dendrite;

import io.bittensor.proto.ReturnCode;
import java.time.Duration;

/**
 * What happened to one peer's part of a Dendrite call.
 *
 * @param synapseKey the peer's synapse
 * @param code OK, the peer's own code (e.g. OVERLOADED, UNKNOWN_SYNAPSE), or a local one
 *     (TIMEOUT, UNAVAILABLE, BANNED, BAD_REPLY, RPC_ERROR); see docs/dendrite.md
 * @param latency from sending the request to having the reply decoded (zero when no call was made)
 * @param message a short detail for a non-OK code; empty for OK
 */
public record PeerResult(String synapseKey, ReturnCode code, Duration latency, String message) {

    public boolean ok() {
        return code == ReturnCode.OK;
    }
}
