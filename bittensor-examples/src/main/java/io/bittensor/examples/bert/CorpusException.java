package io.bittensor.examples.bert;

import io.bittensor.runtime.DataException;

/**
 * The text neuron's corpus cannot be used (missing, unreadable, too small); the message is one
 * line saying what is wrong. For a corpus named by {@code --corpus} it is a bad flag (exit 2).
 */
public final class CorpusException extends DataException {
    private static final long serialVersionUID = 1L;

    public CorpusException(String message) {
        super(message);
    }

    public CorpusException(String message, Throwable cause) {
        super(message, cause);
    }
}
