package io.bittensor.transport;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.net.SocketAddress;

/**
 * Makes a service answer requests whose bytes do not parse with {@code INVALID_ARGUMENT} (and
 * one counted line in a {@link PeerErrorLog}), never gRPC's {@code UNKNOWN}.
 *
 * <p>gRPC parses a request inside its own call machinery, before any interceptor or handler
 * sees it; a parse failure there escapes as "Application error processing RPC" with a stack
 * trace. So every method is re-registered with a {@link LenientMarshaller} that never throws,
 * and the original handler only ever sees well-formed messages. Any marshaller works: the guard
 * wraps whatever the service was built with.
 *
 * <pre>{@code
 * builder.addService(MalformedRequestGuard.guard(service.bindService(), peerErrors));
 * }</pre>
 */
public final class MalformedRequestGuard {
    /** The {@link PeerErrorLog} kind under which malformed requests are counted. */
    public static final String KIND = "malformed request";

    private MalformedRequestGuard() {
    }

    /** The same service, with every method's request parsed leniently. */
    public static ServerServiceDefinition guard(ServerServiceDefinition service, PeerErrorLog errors) {
        // By name, not descriptor: the wrapped methods are new descriptor instances.
        ServerServiceDefinition.Builder b =
                ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            b.addMethod(wrap(m, errors));
        }
        return b.build();
    }

    private static <Q, R> ServerMethodDefinition<ParsedRequest<Q>, R> wrap(
            ServerMethodDefinition<Q, R> m, PeerErrorLog errors) {
        MethodDescriptor<Q, R> original = m.getMethodDescriptor();
        MethodDescriptor<ParsedRequest<Q>, R> lenient = original.toBuilder(
                new LenientMarshaller<>(original.getRequestMarshaller()),
                original.getResponseMarshaller()).build();
        ServerCallHandler<Q, R> handler = m.getServerCallHandler();
        return ServerMethodDefinition.create(lenient,
                (call, headers) -> new GuardListener<>(call, headers, original, handler, errors));
    }

    /** Passes parsed messages to the original handler; answers malformed ones and drops the rest of the call. */
    private static final class GuardListener<Q, R> extends ServerCall.Listener<ParsedRequest<Q>> {
        private final ServerCall<ParsedRequest<Q>, R> call;
        private final String method;
        private final PeerErrorLog errors;
        private final ServerCall.Listener<Q> delegate;
        private boolean refused;

        GuardListener(ServerCall<ParsedRequest<Q>, R> call, Metadata headers, MethodDescriptor<Q, R> original,
                      ServerCallHandler<Q, R> handler, PeerErrorLog errors) {
            this.call = call;
            this.method = original.getBareMethodName();
            this.errors = errors;
            this.delegate = handler.startCall(new UnwrappedCall<>(call, original), headers);
        }

        @Override
        public void onMessage(ParsedRequest<Q> message) {
            if (refused) {
                return;
            }
            if (message.ok()) {
                delegate.onMessage(message.message());
                return;
            }
            refused = true;
            errors.record(KIND, method + " from " + remote(call) + ": " + message.error());
            call.close(Status.INVALID_ARGUMENT.withDescription(
                    PeerErrorLog.clean(method + ": request is not a valid message: " + message.error())),
                    new Metadata());
        }

        @Override
        public void onHalfClose() {
            if (!refused) {
                delegate.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            delegate.onCancel();
        }

        @Override
        public void onComplete() {
            delegate.onComplete();
        }

        @Override
        public void onReady() {
            if (!refused) {
                delegate.onReady();
            }
        }
    }

    private static String remote(ServerCall<?, ?> call) {
        SocketAddress a = call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        return a == null ? "?" : a.toString();
    }

    /** The call as the original handler expects it: its own message type and descriptor. */
    private static final class UnwrappedCall<Q, R> extends ServerCall<Q, R> {
        private final ServerCall<ParsedRequest<Q>, R> call;
        private final MethodDescriptor<Q, R> method;

        UnwrappedCall(ServerCall<ParsedRequest<Q>, R> call, MethodDescriptor<Q, R> method) {
            this.call = call;
            this.method = method;
        }

        @Override
        public void request(int numMessages) {
            call.request(numMessages);
        }

        @Override
        public void sendHeaders(Metadata headers) {
            call.sendHeaders(headers);
        }

        @Override
        public void sendMessage(R message) {
            call.sendMessage(message);
        }

        @Override
        public boolean isReady() {
            return call.isReady();
        }

        @Override
        public void close(Status status, Metadata trailers) {
            call.close(status, trailers);
        }

        @Override
        public boolean isCancelled() {
            return call.isCancelled();
        }

        @Override
        public void setMessageCompression(boolean enabled) {
            call.setMessageCompression(enabled);
        }

        @Override
        public void setCompression(String compressor) {
            call.setCompression(compressor);
        }

        @Override
        public SecurityLevel getSecurityLevel() {
            return call.getSecurityLevel();
        }

        @Override
        public Attributes getAttributes() {
            return call.getAttributes();
        }

        @Override
        public String getAuthority() {
            return call.getAuthority();
        }

        @Override
        public MethodDescriptor<Q, R> getMethodDescriptor() {
            return method;
        }
    }
}
