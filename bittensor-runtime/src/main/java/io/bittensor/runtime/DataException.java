package io.bittensor.runtime;

/**
 * A data set is missing, corrupt, or cannot be fetched. The message is one line that says what is
 * wrong and how to fix it; a neuron main prints it and exits with code 1.
 */
public class DataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
