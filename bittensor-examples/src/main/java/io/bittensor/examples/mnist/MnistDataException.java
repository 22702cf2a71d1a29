package io.bittensor.examples.mnist;

/** MNIST data missing, corrupt or unobtainable; the message says what to do about it. */
public final class MnistDataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MnistDataException(String message) {
        super(message);
    }

    public MnistDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
