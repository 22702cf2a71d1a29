package io.bittensor.metagraph;

/** The metagraph could not do what was asked (bind its server, subscribe an entry). */
public final class MetagraphException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MetagraphException(String message, Throwable cause) {
        super(message, cause);
    }

    public MetagraphException(String message) {
        super(message);
    }
}
