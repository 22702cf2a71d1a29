package io.bittensor.tensor;

import java.util.Objects;

/**
 * A {@link io.bittensor.proto.Tensor} that cannot be turned into an array: thrown by
 * {@link TensorCodec#decode} before anything sized by the message is allocated.
 */
public final class TensorDecodeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What was wrong with the tensor. */
    public enum Reason {
        /**
         * dtype UNKNOWN, UTF8, a number the enum does not know, or a dtype the modality does not
         * take (IMAGE must be FLOAT32).
         */
        UNKNOWN_DTYPE,
        /** A modality number the enum does not know. */
        UNKNOWN_MODALITY,
        /** A negative dimension, or more dimensions than {@link TensorLimits#maxRank()}. */
        BAD_SHAPE,
        /**
         * More elements than {@link TensorLimits#maxElements()}, a dimension above it, or a shape
         * whose product overflows a long.
         */
        TOO_LARGE,
        /** buffer length != product(shape) x element size. */
        LENGTH_MISMATCH
    }

    private final Reason reason;

    public TensorDecodeException(Reason reason, String message) {
        super(reason + ": " + message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
