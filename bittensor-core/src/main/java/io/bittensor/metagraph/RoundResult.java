package io.bittensor.metagraph;

import java.util.List;

/**
 * What one gossip round did: one exchange, or a few during the warm-up rounds after start, or
 * none when no peer could be tried.
 */
public record RoundResult(List<Exchange> exchanges) {

    public RoundResult {
        exchanges = List.copyOf(exchanges);
    }

    /** How one exchange ended. */
    public enum Outcome {
        /** The exchange succeeded and the reply was absorbed. */
        OK,
        /** The call failed (unreachable, timeout, error status): the peer was dropped or backs off. */
        FAILED,
        /** The reply was over the limits and refused whole: treated as a failed exchange. */
        REFUSED
    }

    /**
     * One exchange with one peer.
     *
     * @param peer the peer's "host:port"
     * @param outcome how it ended
     * @param synapsesReceived entries in the peer's reply
     * @param synapsesTaken new or newer entries stored from the reply
     */
    public record Exchange(String peer, Outcome outcome, int synapsesReceived, int synapsesTaken) {
    }

    /** Whether any exchange succeeded. */
    public boolean anyOk() {
        return exchanges.stream().anyMatch(e -> e.outcome() == Outcome.OK);
    }
}
