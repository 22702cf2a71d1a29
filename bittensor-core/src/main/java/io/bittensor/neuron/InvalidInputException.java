package io.bittensor.neuron;

import io.bittensor.proto.ReturnCode;
import java.util.Objects;

/**
 * Thrown by a {@link Neuron} for a request it refuses on its content (a token id outside its
 * vocabulary, a sequence longer than its positions): the Axon answers {@link #code()} with the
 * message, logs nothing above DEBUG, and the neuron carries on.
 */
public final class InvalidInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ReturnCode code;

    /** @param code the refusal, e.g. {@link ReturnCode#BAD_SHAPE} or {@link ReturnCode#MALFORMED_TENSOR} */
    public InvalidInputException(ReturnCode code, String message) {
        super(message, null, false, false); // a peer's mistake, not ours: no stack trace
        this.code = Objects.requireNonNull(code, "code");
    }

    public ReturnCode code() {
        return code;
    }
}
