package io.bittensor.metagraph;

/**
 * What one gossip round did.
 *
 * @param outcome whether an exchange happened and how it ended
 * @param peer the peer tried, or null when none was eligible
 * @param synapsesReceived entries in the peer's reply
 * @param synapsesTaken new or newer entries stored from the reply
 */
public record RoundResult(Outcome outcome, String peer, int synapsesReceived, int synapsesTaken) {

    /** How a round ended. */
    public enum Outcome {
        /** No known peer could be tried (none known, or bootstraps backing off). */
        NO_PEER,
        /** The exchange succeeded and the reply was absorbed. */
        OK,
        /** The call failed (unreachable, timeout, error status): the peer was dropped or backs off. */
        FAILED,
        /** The reply was over the limits and refused whole: treated as a failed exchange. */
        REFUSED
    }

    static RoundResult noPeer() {
        return new RoundResult(Outcome.NO_PEER, null, 0, 0);
    }
}
