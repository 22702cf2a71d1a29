package io.bittensor.transport;

import io.bittensor.proto.TensorMessage;
import java.util.Objects;

/**
 * A received {@code TensorMessage} whose tensors' {@code buffer}s are views of a pooled parse
 * buffer ({@link ParseBuffers}): decode them, then {@link #close()} to give the buffer back.
 * After close the buffer holds the next message's bytes, so nothing may read this message's
 * tensors (or signature) any more: {@link #message()} refuses, and whoever held on to the message
 * itself must not read them. Strings and numbers are copies and stay valid. Arrays decoded from
 * the tensors are native copies and never alias the buffer.
 */
public final class ReceivedMessage implements AutoCloseable {
    private final TensorMessage message;
    private final ParseBuffers.Lease lease; // null: the message owns its bytes
    private final int wireLength;

    ReceivedMessage(TensorMessage message, ParseBuffers.Lease lease, int wireLength) {
        this.message = Objects.requireNonNull(message, "message");
        this.lease = lease;
        this.wireLength = wireLength;
    }

    /** A message that owns its bytes (close does nothing): tests, other transports. */
    public static ReceivedMessage of(TensorMessage message) {
        return new ReceivedMessage(message, null, message.getSerializedSize());
    }

    /** The message; valid until {@link #close()}. */
    public TensorMessage message() {
        if (lease != null && lease.isClosed()) {
            throw new IllegalStateException("the message's buffer was given back to its pool");
        }
        return message;
    }

    /** The message's size on the wire. */
    public int wireLength() {
        return wireLength;
    }

    /** Gives the parse buffer back; idempotent. */
    @Override
    public void close() {
        if (lease != null) {
            lease.close();
        }
    }
}
