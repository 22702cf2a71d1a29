package io.bittensor.axon;

import io.bittensor.proto.ReturnCode;

/** A request the Axon answers with a null response and {@code code}: thrown inside a handler. */
final class Refusal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ReturnCode code;

    Refusal(ReturnCode code, String message) {
        super(message, null, false, false); // control flow: no stack trace
        this.code = code;
    }

    ReturnCode code() {
        return code;
    }
}
