package io.bittensor.transport;

import java.util.Objects;

/**
 * A request as the server's marshaller read it: the message, or why its bytes were not one.
 * Lets a handler answer a malformed request itself instead of gRPC answering {@code UNKNOWN}.
 */
public final class ParsedRequest<T> {
    private final T message;
    private final String error;

    private ParsedRequest(T message, String error) {
        this.message = message;
        this.error = error;
    }

    public static <T> ParsedRequest<T> of(T message) {
        return new ParsedRequest<>(Objects.requireNonNull(message, "message"), null);
    }

    public static <T> ParsedRequest<T> malformed(String error) {
        return new ParsedRequest<>(null, Objects.requireNonNull(error, "error"));
    }

    public boolean ok() {
        return error == null;
    }

    /** The message; only when {@link #ok()}. */
    public T message() {
        if (error != null) {
            throw new IllegalStateException("malformed request: " + error);
        }
        return message;
    }

    /** Why the bytes were refused; null when {@link #ok()}. */
    public String error() {
        return error;
    }
}
