package io.bittensor.examples.hostile;

/** The kinds of hostile request the campaign sends (docs/reliability.md), and where each goes. */
public enum HostileKind {
    // Bytes that are not a message, or not a whole one.
    RANDOM_BYTES(Target.AXON, 10, "random bytes (Forward and Backward)"),
    TRUNCATED_PROTO(Target.AXON, 10, "a valid request cut short"),
    OVERSIZED_PROTO(Target.AXON, 1, "a request one byte over the Axon's message limit"),
    // Tensors that lie.
    LYING_SHAPE(Target.AXON, 10, "shape disagrees with the buffer length"),
    NEGATIVE_DIM(Target.AXON, 10, "a negative dimension"),
    OVERFLOWING_DIM(Target.AXON, 10, "dimensions whose product overflows a long"),
    UNKNOWN_ENUM(Target.AXON, 10, "modality or dtype number no one defined"),
    MISSING_TENSOR(Target.AXON, 10, "Forward without its tensor, Backward without grads"),
    EXTRA_TENSORS(Target.AXON, 10, "more tensors than the call takes"),
    HUGE_STRING(Target.AXON, 5, "a 1 MiB synapse_key, neuron_key or version"),
    BACKWARD_WITHOUT_FORWARD(Target.AXON, 10, "a Backward nobody forwarded (random grads)"),
    // Signatures.
    BAD_SIGNATURE(Target.AXON, 10, "a signature that does not verify"),
    REPLAY(Target.AXON, 10, "a validly signed request sent a second time"),
    // Gossip.
    GOSSIP_RANDOM_BYTES(Target.METAGRAPH, 10, "random bytes as a gossip batch"),
    GOSSIP_FORGED(Target.METAGRAPH, 10, "entries with proof of work but another key's signature"),
    GOSSIP_EXPIRED(Target.METAGRAPH, 10, "entries whose owner expiry has passed"),
    GOSSIP_LOW_POW(Target.METAGRAPH, 10, "signed entries below the proof-of-work difficulty"),
    GOSSIP_OVERSIZED(Target.METAGRAPH, 5, "too many peers or synapses, huge fields, over 4 MiB");

    /** Which server a kind is sent to. */
    public enum Target { AXON, METAGRAPH }

    private final Target target;
    private final int weight;
    private final String description;

    HostileKind(Target target, int weight, String description) {
        this.target = target;
        this.weight = weight;
        this.description = description;
    }

    public Target target() {
        return target;
    }

    /** Relative frequency in the campaign's mix (oversized messages are costly to send). */
    public int weight() {
        return weight;
    }

    public String description() {
        return description;
    }
}
