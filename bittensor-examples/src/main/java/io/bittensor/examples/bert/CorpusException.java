package io.bittensor.examples.bert;

/** The text data or vocabulary cannot be had; the message is one line saying what to do. */
public final class CorpusException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CorpusException(String message) {
        super(message);
    }

    public CorpusException(String message, Throwable cause) {
        super(message, cause);
    }
}
