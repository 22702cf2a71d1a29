package io.bittensor.tensor;

/**
 * Bounds {@link TensorCodec#decode} enforces before it allocates anything, so that a peer's header
 * cannot make us allocate more than we chose to accept.
 *
 * @param maxElements most elements a decoded tensor may hold (product of its shape); also the
 *                    largest single dimension accepted, even next to a zero dimension
 * @param maxRank     most dimensions a decoded tensor may have
 */
public record TensorLimits(long maxElements, int maxRank) {

    /** ND4J cannot hold more dimensions than this. */
    public static final int ND4J_MAX_RANK = 32;

    /** 64 Mi elements (256 MiB of float32) and rank 8: far above any shape the network uses. */
    public static final TensorLimits DEFAULT = new TensorLimits(64L * 1024 * 1024, 8);

    public TensorLimits {
        if (maxElements < 0) {
            throw new IllegalArgumentException("maxElements must be >= 0, got " + maxElements);
        }
        if (maxRank < 0 || maxRank > ND4J_MAX_RANK) {
            throw new IllegalArgumentException(
                    "maxRank must be in [0, " + ND4J_MAX_RANK + "], got " + maxRank);
        }
    }
}
