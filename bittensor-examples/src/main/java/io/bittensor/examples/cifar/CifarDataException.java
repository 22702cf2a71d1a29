package io.bittensor.examples.cifar;

/** A data set that cannot be used, with a one-line message that says which file and why. */
public final class CifarDataException extends RuntimeException {
    public CifarDataException(String message) {
        super(message);
    }

    public CifarDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
