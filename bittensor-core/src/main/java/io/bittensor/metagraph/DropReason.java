package io.bittensor.metagraph;

/**
 * Why a received message, synapse entry or peer address was not taken, or why a stored entry left.
 * Each has a counter ({@link Metagraph#dropped}). The first group are trust rejections; the
 * second are normal traffic.
 */
public enum DropReason {
    /** A whole gossip message over the limits (too many peers or synapses, oversize fields). */
    MESSAGE_OVER_LIMITS,
    /** An entry without synapse_key. */
    MALFORMED,
    /** A present original-format signature that does not verify. */
    BAD_SIGNATURE,
    /** An owner expiry whose signature is missing or does not verify. */
    BAD_EXPIRY_SIGNATURE,
    /** A signed entry (or one that claims a proof) below the required proof-of-work difficulty. */
    LOW_PROOF_OF_WORK,
    /** An entry for a synapse_key held under another neuron key (signed, or ours). */
    KEY_MISMATCH,
    /** An entry without any signature while unsigned entries are refused. */
    UNSIGNED,
    /** An owner expiry further ahead than maxExpiryAhead. */
    EXPIRY_TOO_FAR,
    /** A peer string that is not host:port. */
    BAD_PEER_ADDRESS,

    /** An entry whose owner expiry had already passed on arrival. */
    EXPIRED,
    /** An entry no newer than the one held (or an unsigned copy of a signed one). */
    STALE,
    /** A stored entry removed because its expiry or TTL passed. */
    LAPSED,
    /** A stored entry evicted to keep metagraph_size (the soonest to lapse goes first). */
    EVICTED,
    /** A new peer address not kept because the peer set is full. */
    PEERS_FULL,
    /** A peer forgotten because no evidence of its life came within peerTtl. */
    PEER_LAPSED,
    /** A whole received request not absorbed because the absorb queue was full (load shedding). */
    ABSORB_BUSY
}
