package io.bittensor.telemetry;

import io.bittensor.proto.ReturnCode;

/**
 * One Forward or Backward, served by an Axon or made by a Dendrite, as reported to a
 * {@link CallListener}.
 *
 * @param side      served (by our Axon) or made (by our Dendrite)
 * @param method    Forward or Backward
 * @param peer      the other neuron's key as it appears on the wire (served: the request's
 *                  {@code neuron_key}, a claim unless the request is signed; made: the synapse
 *                  owner's {@code neuron_key}); may be empty or anything a peer sent
 * @param code      the outcome: what the Axon answered, or what the Dendrite made of the call
 * @param nanos     wall time from receiving the request to sending the reply (served), or from
 *                  sending the request to the outcome (made); 0 for calls answered locally
 * @param bytesIn   serialized size of the message received (request, or reply); 0 if none
 * @param bytesOut  serialized size of the message sent (reply, or request); 0 if none
 */
public record CallEvent(Side side, Method method, String peer, ReturnCode code, long nanos,
                        long bytesIn, long bytesOut) {

    public enum Side { SERVED, MADE }

    public enum Method { FORWARD, BACKWARD }
}
