package io.bittensor.transport;

import io.grpc.MethodDescriptor;
import java.io.InputStream;

/**
 * Writes an {@link OutgoingMessage} straight from its native tensors ({@link
 * OutgoingMessage#stream()}); parses (for clients and tests) as {@link TensorMessageMarshaller}.
 */
public final class OutgoingMessageMarshaller implements MethodDescriptor.Marshaller<OutgoingMessage> {

    /** The shared instance (stateless). */
    public static final OutgoingMessageMarshaller INSTANCE = new OutgoingMessageMarshaller();

    private OutgoingMessageMarshaller() {
    }

    @Override
    public InputStream stream(OutgoingMessage value) {
        return value.stream();
    }

    @Override
    public OutgoingMessage parse(InputStream stream) {
        return OutgoingMessage.of(TensorMessageMarshaller.INSTANCE.parse(stream));
    }
}
