package io.bittensor.transport;

import io.bittensor.tensor.NativeBuffers;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * Parses a {@code TensorMessage} with each tensor's bytes received straight into a native block
 * from {@link NativeBuffers} ({@link NativeMessageReader}): the result is a native
 * {@link ReceivedMessage} whose tensors {@code TensorCodec.decodeView} reads without a copy. One
 * copy of the bytes in all, from gRPC's buffers to the block (the heap path,
 * {@link PooledMessageMarshaller}, makes two: into a heap array, then into the decoded array).
 * Malformed bytes fail as {@link TensorMessageMarshaller}'s do ({@code INTERNAL}, every block
 * given back). Writing (for clients and tests) is protobuf's.
 */
public final class NativeMessageMarshaller implements MethodDescriptor.Marshaller<ReceivedMessage> {
    private final NativeBuffers blocks;

    public NativeMessageMarshaller(NativeBuffers blocks) {
        this.blocks = Objects.requireNonNull(blocks, "blocks");
    }

    @Override
    public InputStream stream(ReceivedMessage value) {
        return TensorMessageMarshaller.INSTANCE.stream(value.message());
    }

    @Override
    public ReceivedMessage parse(InputStream stream) {
        try {
            // gRPC's streams know their length (bounded by maxInboundMessageSize); others are read whole.
            int length = stream instanceof KnownLength ? stream.available() : -1;
            if (length < 0) {
                byte[] all = stream.readAllBytes();
                return NativeMessageReader.read(new java.io.ByteArrayInputStream(all), all.length, blocks);
            }
            return NativeMessageReader.read(stream, length, blocks);
        } catch (IOException | RuntimeException e) {
            throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e)
                    .asRuntimeException();
        }
    }
}
