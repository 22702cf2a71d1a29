package io.bittensor.transport;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.proto.BittensorGrpc;
import io.bittensor.proto.TensorMessage;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;

/**
 * The wire format of {@code TensorMessage} unchanged, parsed with one copy fewer than gRPC's
 * default protobuf marshaller.
 *
 * <p>gRPC's marshaller reads a message into a reused scratch array, and protobuf then copies
 * every tensor's {@code buffer} out of it into a new {@code ByteString}: two copies of the tensor
 * bytes before anyone decodes them. This one reads the message once into an array of its own and
 * parses it with aliasing on, so each {@code buffer} is a view of that array (the message owns
 * it; nothing else writes to it). Writing is gRPC's own (it streams the message into the
 * transport's buffers).
 *
 * <p>Malformed bytes fail as gRPC's marshaller fails ({@code INTERNAL}, "Invalid protobuf byte
 * sequence"), so guards written for it see the same thing.
 */
public final class TensorMessageMarshaller implements MethodDescriptor.Marshaller<TensorMessage> {

    /** The shared instance (stateless). */
    public static final TensorMessageMarshaller INSTANCE = new TensorMessageMarshaller();

    /** {@code /Bittensor/Forward} with this marshaller both ways. */
    public static final MethodDescriptor<TensorMessage, TensorMessage> FORWARD =
            BittensorGrpc.getForwardMethod().toBuilder(INSTANCE, INSTANCE).build();

    /** {@code /Bittensor/Backward} with this marshaller both ways. */
    public static final MethodDescriptor<TensorMessage, TensorMessage> BACKWARD =
            BittensorGrpc.getBackwardMethod().toBuilder(INSTANCE, INSTANCE).build();

    /** gRPC's own protobuf marshaller, as generated: it writes. */
    private static final MethodDescriptor.Marshaller<TensorMessage> PROTO =
            BittensorGrpc.getForwardMethod().getResponseMarshaller();

    private TensorMessageMarshaller() {
    }

    @Override
    public InputStream stream(TensorMessage value) {
        return PROTO.stream(value);
    }

    @Override
    public TensorMessage parse(InputStream stream) {
        try {
            byte[] bytes = stream instanceof KnownLength ? readKnown(stream) : stream.readAllBytes();
            CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
            in.enableAliasing(true); // buffers become views of `bytes`, which nothing else holds
            in.setSizeLimit(Integer.MAX_VALUE); // gRPC's maxInboundMessageSize bounded it already
            return TensorMessage.parseFrom(in);
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e)
                    .asRuntimeException();
        }
    }

    /**
     * The whole of a stream that says its length (gRPC's do; gRPC's maxInboundMessageSize bounds
     * it), read straight into one array: {@code readNBytes(int)} would read 8 KiB pieces and copy
     * them all again into the result.
     */
    private static byte[] readKnown(InputStream stream) throws IOException {
        int length = stream.available();
        byte[] bytes = new byte[length];
        readExactly(stream, bytes, length);
        return bytes;
    }

    /** Reads exactly {@code length} bytes, the whole stream, into {@code bytes}; else IOException. */
    static void readExactly(InputStream stream, byte[] bytes, int length) throws IOException {
        int read = stream.readNBytes(bytes, 0, length);
        if (read != length) {
            throw new IOException("the stream ended after " + read + " of the " + length
                    + " bytes it said");
        }
        if (stream.read() != -1) {
            throw new IOException("the stream is longer than it said");
        }
    }

    /**
     * {@code service} (the {@code Bittensor} service) with every method's messages parsed by this
     * marshaller; the handlers are unchanged.
     */
    @SuppressWarnings("unchecked") // every method of the Bittensor service is TensorMessage -> TensorMessage
    public static ServerServiceDefinition apply(ServerServiceDefinition service) {
        String name = service.getServiceDescriptor().getName();
        if (!BittensorGrpc.SERVICE_NAME.equals(name)) {
            throw new IllegalArgumentException("not the Bittensor service: " + name);
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(name);
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            ServerMethodDefinition<TensorMessage, TensorMessage> t =
                    (ServerMethodDefinition<TensorMessage, TensorMessage>) m;
            b.addMethod(t.getMethodDescriptor().toBuilder(INSTANCE, INSTANCE).build(),
                    t.getServerCallHandler());
        }
        return b.build();
    }
}
