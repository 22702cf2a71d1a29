package io.bittensor.transport;

import io.grpc.MethodDescriptor.Marshaller;
import io.grpc.Status;
import java.io.InputStream;
import java.util.Objects;

/**
 * Wraps a request marshaller so that bytes it cannot parse become a {@link ParsedRequest} that
 * says why, instead of an exception thrown inside gRPC (which answers {@code UNKNOWN} and logs a
 * stack trace per request).
 */
final class LenientMarshaller<T> implements Marshaller<ParsedRequest<T>> {
    private final Marshaller<T> delegate;

    LenientMarshaller(Marshaller<T> delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public InputStream stream(ParsedRequest<T> value) {
        return delegate.stream(value.message());
    }

    @Override
    public ParsedRequest<T> parse(InputStream stream) {
        try {
            T message = delegate.parse(stream);
            return message == null ? ParsedRequest.malformed("no message") : ParsedRequest.of(message);
        } catch (RuntimeException | StackOverflowError e) {
            // Protobuf's marshaller wraps the parse error in an INTERNAL status; its description
            // ("Invalid protobuf byte sequence") plus the cause's message say what was wrong.
            return ParsedRequest.malformed(describe(e));
        }
    }

    private static String describe(Throwable e) {
        Status s = Status.fromThrowable(e);
        String what = s.getDescription() != null ? s.getDescription() : e.getClass().getSimpleName();
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        String why = cause.getMessage();
        return why == null || why.equals(what) ? what : what + ": " + why;
    }
}
