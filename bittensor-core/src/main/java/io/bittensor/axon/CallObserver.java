package io.bittensor.axon;

import io.bittensor.proto.BittensorGrpc;
import io.bittensor.proto.ReturnCode;
import io.bittensor.transport.OutgoingMessage;
import io.bittensor.transport.ReceivedMessage;
import io.bittensor.telemetry.CallEvent;
import io.bittensor.telemetry.CallListener;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports each Forward and Backward the Axon answers to a {@link CallListener}: the caller's key,
 * the reply's return code, the time from request to reply, and both messages' sizes. Sits on the
 * transport side of the service, so the service itself knows nothing of it. A call that ends
 * without a reply (cancelled, or refused by gRPC before the service, e.g. too large) is reported
 * with the code its gRPC status maps to.
 */
final class CallObserver implements ServerInterceptor {
    private static final Logger LOG = LoggerFactory.getLogger(CallObserver.class);
    private final CallListener listener;

    CallObserver(CallListener listener) {
        this.listener = listener;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String name = call.getMethodDescriptor().getFullMethodName();
        CallEvent.Method method = name.equals(BittensorGrpc.getForwardMethod().getFullMethodName())
                ? CallEvent.Method.FORWARD
                : name.equals(BittensorGrpc.getBackwardMethod().getFullMethodName()) ? CallEvent.Method.BACKWARD : null;
        if (method == null) {
            return next.startCall(call, headers); // the health service
        }
        Observed<Q, R> observed = new Observed<>(call, method, System.nanoTime());
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
                next.startCall(observed, headers)) {
            @Override
            public void onMessage(Q message) {
                if (message instanceof ReceivedMessage m) {
                    observed.peer = m.message().getNeuronKey();
                    observed.bytesIn = m.wireLength();
                }
                super.onMessage(message);
            }
        };
    }

    private final class Observed<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private final CallEvent.Method method;
        private final long start;
        volatile String peer = "";
        volatile long bytesIn;
        private volatile ReturnCode code;
        private volatile long bytesOut;

        Observed(ServerCall<Q, R> call, CallEvent.Method method, long start) {
            super(call);
            this.method = method;
            this.start = start;
        }

        @Override
        public void sendMessage(R message) {
            if (message instanceof OutgoingMessage m) {
                code = m.returnCode();
                bytesOut = m.serializedSize();
            }
            super.sendMessage(message);
        }

        @Override
        public void close(Status status, Metadata trailers) {
            super.close(status, trailers);
            ReturnCode c = code != null ? code
                    : status.isOk() ? ReturnCode.UNSET : io.bittensor.neuron.ReturnCodes.of(status.getCode());
            try {
                listener.onCall(new CallEvent(CallEvent.Side.SERVED, method, peer, c,
                        System.nanoTime() - start, bytesIn, bytesOut));
            } catch (RuntimeException e) {
                LOG.debug("call listener failed: {}", e.toString());
            }
        }
    }
}
