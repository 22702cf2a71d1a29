package io.bittensor.examples.mnist;

import io.bittensor.runtime.DataException;

/** MNIST data missing, corrupt or unobtainable; the message says what to do about it. */
public final class MnistDataException extends DataException {
    private static final long serialVersionUID = 1L;

    public MnistDataException(String message) {
        super(message);
    }

    public MnistDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
