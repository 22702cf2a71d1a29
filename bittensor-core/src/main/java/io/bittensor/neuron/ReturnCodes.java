package io.bittensor.neuron;

import io.bittensor.proto.ReturnCode;
import io.bittensor.tensor.TensorDecodeException;
import io.grpc.Status;

/**
 * The one error vocabulary of Axon and Dendrite: {@link ReturnCode} (wire field
 * {@code TensorMessage.return_code}) and how failures of each layer map onto it. The table in
 * docs/axon.md lists every code.
 */
public final class ReturnCodes {
    private ReturnCodes() {
    }

    /** The code an Axon answers for a tensor it could not decode. */
    public static ReturnCode of(TensorDecodeException.Reason reason) {
        return switch (reason) {
            case UNKNOWN_DTYPE -> ReturnCode.BAD_DTYPE;
            case BAD_SHAPE -> ReturnCode.BAD_SHAPE;
            case TOO_LARGE -> ReturnCode.TOO_LARGE;
            case LENGTH_MISMATCH, UNKNOWN_MODALITY -> ReturnCode.MALFORMED_TENSOR;
        };
    }

    /** The code a Dendrite records for a call that ended in a gRPC error status. */
    public static ReturnCode of(Status.Code status) {
        return switch (status) {
            case DEADLINE_EXCEEDED -> ReturnCode.TIMEOUT;
            case UNAVAILABLE -> ReturnCode.UNAVAILABLE;
            // The peer's gRPC layer refused the message (its maximum inbound size).
            case RESOURCE_EXHAUSTED -> ReturnCode.TOO_LARGE;
            case UNAUTHENTICATED, PERMISSION_DENIED -> ReturnCode.UNAUTHENTICATED;
            default -> ReturnCode.RPC_ERROR;
        };
    }

    /** True for codes only a Dendrite sets, about the call itself rather than the peer's answer. */
    public static boolean isLocal(ReturnCode code) {
        return switch (code) {
            case TIMEOUT, UNAVAILABLE, BANNED, BAD_REPLY, RPC_ERROR -> true;
            default -> false;
        };
    }
}
