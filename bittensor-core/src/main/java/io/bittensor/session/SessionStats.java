package io.bittensor.session;

/**
 * A snapshot of a running neuron's network figures.
 *
 * @param requestsServed Forward and Backward calls this neuron's Axon answered with OK
 * @param requestsRefused calls its Axon answered with any other code
 * @param remoteCalls    calls this neuron made to peers (Forward and Backward) and recorded
 * @param remoteOk       of those, the ones a peer answered with OK
 * @param peersKnown     metagraph peers (gossip addresses) known, ourselves excluded
 * @param synapsesKnown  live synapses in the metagraph, our own included
 */
public record SessionStats(long requestsServed, long requestsRefused, long remoteCalls, long remoteOk,
        int peersKnown, int synapsesKnown) {

    /** Fraction of recorded remote calls that succeeded; NaN when none were made. */
    public double remoteSuccessRate() {
        return remoteCalls == 0 ? Double.NaN : (double) remoteOk / remoteCalls;
    }
}
