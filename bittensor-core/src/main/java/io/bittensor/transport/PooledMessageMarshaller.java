package io.bittensor.transport;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.proto.TensorMessage;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * Parses a {@code TensorMessage} into a buffer borrowed from {@link ParseBuffers}, with aliasing
 * on (each tensor's {@code buffer} is a view of it), and hands it over as a
 * {@link ReceivedMessage} that gives the buffer back when closed: no fresh 128 KiB array per
 * {@code [64, 1, 512]} request. Malformed bytes fail as {@link TensorMessageMarshaller}'s do
 * ({@code INTERNAL}, buffer given back). Writing (for clients and tests) is protobuf's.
 */
public final class PooledMessageMarshaller implements MethodDescriptor.Marshaller<ReceivedMessage> {
    private final ParseBuffers buffers;

    public PooledMessageMarshaller(ParseBuffers buffers) {
        this.buffers = Objects.requireNonNull(buffers, "buffers");
    }

    @Override
    public InputStream stream(ReceivedMessage value) {
        return TensorMessageMarshaller.INSTANCE.stream(value.message());
    }

    @Override
    public ReceivedMessage parse(InputStream stream) {
        if (!(stream instanceof KnownLength)) { // not gRPC's: no length to size a buffer by
            TensorMessage m = TensorMessageMarshaller.INSTANCE.parse(stream);
            return new ReceivedMessage(m, (ParseBuffers.Lease) null, m.getSerializedSize());
        }
        ParseBuffers.Lease lease = null;
        try {
            int length = stream.available(); // bounded by gRPC's maxInboundMessageSize
            lease = buffers.acquire(length);
            byte[] bytes = lease.array();
            TensorMessageMarshaller.readExactly(stream, bytes, length);
            CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes, 0, length).newCodedInput();
            in.enableAliasing(true); // buffers become views of the leased array
            in.setSizeLimit(Integer.MAX_VALUE);
            return new ReceivedMessage(TensorMessage.parseFrom(in), lease, length);
        } catch (IOException | RuntimeException e) {
            if (lease != null) {
                lease.close(); // nothing refers to it: the parse failed
            }
            throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e)
                    .asRuntimeException();
        }
    }
}
