package io.bittensor.axon;

import io.bittensor.crypto.NonceWindow;
import io.bittensor.crypto.RequestSigner;
import io.bittensor.neuron.InvalidInputException;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.ReturnCodes;
import io.bittensor.neuron.UnsupportedModalityException;
import io.bittensor.proto.BittensorGrpc;
import io.bittensor.proto.DataType;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.ArrayPool;
import io.bittensor.tensor.NativeTensor;
import io.bittensor.tensor.TensorCodec;
import io.bittensor.tensor.TensorDecodeException;
import io.bittensor.transport.OutgoingMessage;
import io.bittensor.transport.OutgoingMessageMarshaller;
import io.bittensor.transport.ParseBuffers;
import io.bittensor.transport.PeerErrorLog;
import io.bittensor.transport.PooledMessageMarshaller;
import io.bittensor.transport.ReceivedMessage;
import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC handlers: verify → admit → validate → decode → neuron → encode → reply with a code.
 *
 * <p>Runs on gRPC's direct executor: verification and admission happen on the Netty thread that
 * parsed the request, so a refused call never waits for a worker; admitted work moves to the
 * bounded worker pool. Every path ends in exactly one reply (gRPC status OK), never an exception.
 *
 * <p>Bytes and ownership (docs/serialization.md): a request is parsed into a pooled buffer
 * ({@link ReceivedMessage}), its tensors decoded into pooled arrays, and the reply streamed from
 * the neuron's output's native memory ({@link OutgoingMessage}). The request's buffer, the
 * decoded inputs and any private copy of the output are all held until the reply is written
 * (a neuron may answer with its input, or a view of it), then given back, on every path.
 */
final class AxonService {
    private static final Logger LOG = LoggerFactory.getLogger(AxonService.class);

    private enum Kind { FORWARD, BACKWARD }

    /** Longest synapse_key, neuron_key or version taken (a key is 66 characters). */
    static final int MAX_HEADER_CHARS = 256;
    /** An Ed25519 signature is 64 bytes. */
    static final int MAX_SIGNATURE_BYTES = 64;

    private final AxonSettings settings;
    private final String neuronKey;
    private final Map<String, Neuron> neurons;
    private final TensorCodec codec;
    private final NonceWindow nonces;
    private final ExecutorService workers;
    private final ArrayPool inputs;
    private final ParseBuffers requestBuffers;
    private final Semaphore admission;
    private final LongAdder[] answered = new LongAdder[ReturnCode.values().length];
    private static final long MODEL_ERROR_LOG_INTERVAL_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(1);
    private final Map<String, Long> lastModelErrorLog = new ConcurrentHashMap<>();
    private final PeerErrorLog peerErrors;
    /** Which synapses are fast enough to serve on the I/O thread (none unless inlineBelow > 0). */
    private final InlinePolicy inline;
    /** After a slow inline call, a synapse is served by workers for this long. */
    static final long INLINE_COOL_DOWN_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    AxonService(AxonSettings settings, String neuronKey, Map<String, Neuron> neurons,
                NonceWindow nonces, ExecutorService workers, ArrayPool inputs, ParseBuffers requestBuffers,
                PeerErrorLog peerErrors) {
        this.peerErrors = peerErrors;
        this.settings = settings;
        this.neuronKey = neuronKey;
        this.neurons = neurons instanceof ConcurrentHashMap ? neurons : new ConcurrentHashMap<>(neurons);
        this.codec = new TensorCodec(settings.tensorLimits());
        this.nonces = nonces;
        this.workers = workers;
        this.inputs = inputs;
        this.requestBuffers = requestBuffers;
        this.admission = new Semaphore(settings.workerThreads() + settings.maxQueuedCalls());
        this.inline = new InlinePolicy(settings.inlineBelow().toNanos(), INLINE_COOL_DOWN_NANOS, System::nanoTime);
        for (int i = 0; i < answered.length; i++) {
            answered[i] = new LongAdder();
        }
    }

    /**
     * The {@code Bittensor} service: Forward and Backward with their wire paths and byte format
     * unchanged, requests parsed into pooled buffers, replies streamed from native memory.
     */
    ServerServiceDefinition bindService() {
        PooledMessageMarshaller requests = new PooledMessageMarshaller(requestBuffers);
        MethodDescriptor<ReceivedMessage, OutgoingMessage> forward = BittensorGrpc.getForwardMethod()
                .toBuilder(requests, OutgoingMessageMarshaller.INSTANCE).build();
        MethodDescriptor<ReceivedMessage, OutgoingMessage> backward = BittensorGrpc.getBackwardMethod()
                .toBuilder(requests, OutgoingMessageMarshaller.INSTANCE).build();
        return ServerServiceDefinition.builder(BittensorGrpc.SERVICE_NAME)
                .addMethod(forward, ServerCalls.asyncUnaryCall((r, out) -> handle(Kind.FORWARD, r, out)))
                .addMethod(backward, ServerCalls.asyncUnaryCall((r, out) -> handle(Kind.BACKWARD, r, out)))
                .build();
    }

    private void handle(Kind kind, ReceivedMessage received, StreamObserver<OutgoingMessage> out) {
        ServerCallStreamObserver<OutgoingMessage> call = (ServerCallStreamObserver<OutgoingMessage>) out;
        AtomicBoolean cancelled = new AtomicBoolean();
        // With a handler set, replying to a cancelled call is a no-op instead of an exception.
        call.setOnCancelHandler(() -> cancelled.set(true));
        TensorMessage request = received.message();
        boolean handedOver = false;
        try {
            try {
                checkHeader(request);
                authenticate(request);
            } catch (Refusal r) {
                refused(kind, request, r);
                reply(call, header(request).setReturnCode(r.code()).setReturnMessage(r.getMessage()));
                return;
            }
            if (!admission.tryAcquire()) {
                reply(call, header(request).setReturnCode(ReturnCode.OVERLOADED)
                        .setReturnMessage("overloaded: try later"));
                return;
            }
            String timingKey = timingKey(kind, request);
            if (timingKey != null && inline.inline(timingKey)) {
                // Fast enough to serve here, on the I/O thread: no hand-off, no wake-ups.
                try {
                    serve(kind, request, call, timingKey, true);
                } finally {
                    admission.release();
                }
                return; // the finally below gives the request's buffer back
            }
            try {
                // The call's gRPC Context goes along, so a neuron can see the caller give up
                // (BatchingNeuron drops a queued input whose call was cancelled).
                workers.execute(Context.current().wrap(() -> {
                    try (received) { // the request's buffer goes back once the reply is written
                        if (!cancelled.get()) { // the caller gave up while queued: skip the work
                            serve(kind, request, call, timingKey, false);
                        }
                    } finally {
                        admission.release();
                    }
                }));
                handedOver = true;
            } catch (RejectedExecutionException e) {
                admission.release();
                reply(call, header(request).setReturnCode(ReturnCode.OVERLOADED)
                        .setReturnMessage("shutting down"));
            }
        } finally {
            if (!handedOver) {
                received.close();
            }
        }
    }

    /**
     * The key calls are timed under for {@link InlinePolicy} (method and synapse), or null when
     * inlining is off or nobody serves that synapse (such calls are refused on a worker, as before).
     */
    private String timingKey(Kind kind, TensorMessage request) {
        if (settings.inlineBelow().isZero() || !neurons.containsKey(request.getSynapseKey())) {
            return null;
        }
        return (kind == Kind.FORWARD ? "F:" : "B:") + request.getSynapseKey();
    }

    /**
     * Processes one admitted request and writes the reply; everything held is given back after.
     * The time to the reply (decode, neuron, encode) is what {@link InlinePolicy} decides by.
     */
    private void serve(Kind kind, TensorMessage request, ServerCallStreamObserver<OutgoingMessage> call,
                       String timingKey, boolean onIoThread) {
        Deque<AutoCloseable> held = new ArrayDeque<>(4);
        try {
            long start = System.nanoTime();
            OutgoingMessage reply = process(kind, request, held);
            if (timingKey != null) {
                inline.record(timingKey, System.nanoTime() - start, onIoThread);
            }
            held.push(reply);
            reply(call, reply);
        } finally {
            release(held);
        }
    }

    /** Closes what {@code held} holds, last taken first; never throws. */
    private static void release(Deque<AutoCloseable> held) {
        for (AutoCloseable c; (c = held.poll()) != null; ) {
            try {
                c.close();
            } catch (Exception | Error e) {
                LOG.warn("could not release a buffer: {}", e.toString());
            }
        }
    }

    /** Counted under "Forward BAD_SHAPE" etc.; one summary line per kind per minute. */
    private void refused(Kind kind, TensorMessage request, Refusal r) {
        String k = (kind == Kind.FORWARD ? "Forward " : "Backward ") + r.code();
        peerErrors.record(k, "synapse " + request.getSynapseKey() + ": " + r.getMessage());
    }

    /**
     * Header strings we echo or look up must be short: a 10 MiB synapse_key would otherwise be
     * copied into the reply. Over the limit, the reply echoes nothing.
     */
    private static void checkHeader(TensorMessage request) {
        String over = request.getSynapseKey().length() > MAX_HEADER_CHARS ? "synapse_key"
                : request.getNeuronKey().length() > MAX_HEADER_CHARS ? "neuron_key"
                : request.getVersion().length() > MAX_HEADER_CHARS ? "version"
                : request.getSignature().size() > MAX_SIGNATURE_BYTES ? "signature" : null;
        if (over != null) {
            throw new Refusal(ReturnCode.BAD_REQUEST, over + " over its limit ("
                    + (over.equals("signature") ? MAX_SIGNATURE_BYTES + " bytes)" : MAX_HEADER_CHARS + " characters)"));
        }
    }

    /** Signature first, then freshness: unsigned junk must not fill the nonce window. */
    private void authenticate(TensorMessage request) {
        if (request.getSignature().isEmpty()) {
            if (settings.requireSignatures()) {
                throw new Refusal(ReturnCode.UNAUTHENTICATED, "signature required");
            }
            return;
        }
        if (!RequestSigner.verify(request)) {
            throw new Refusal(ReturnCode.UNAUTHENTICATED, "invalid signature");
        }
        NonceWindow.Verdict v = nonces.check(request.getNeuronKey(), request.getNounce());
        if (v != NonceWindow.Verdict.ACCEPTED) {
            throw new Refusal(ReturnCode.UNAUTHENTICATED,
                    v == NonceWindow.Verdict.REPLAYED ? "replayed nounce" : "stale nounce");
        }
    }

    /** The reply; the pooled inputs it was made from go to {@code held}, to be kept until it is sent. */
    private OutgoingMessage process(Kind kind, TensorMessage request, Deque<AutoCloseable> held) {
        try {
            Neuron neuron = neurons.get(request.getSynapseKey());
            if (neuron == null) {
                throw new Refusal(ReturnCode.UNKNOWN_SYNAPSE,
                        "no synapse " + abbreviate(request.getSynapseKey()) + " here");
            }
            NativeTensor result = kind == Kind.FORWARD
                    ? forward(neuron, request, held) : backward(neuron, request, held);
            held.push(result);
            return OutgoingMessage.of(header(request).setReturnCode(ReturnCode.OK).build(), List.of(result));
        } catch (Refusal r) {
            refused(kind, request, r);
            return OutgoingMessage.of(header(request).setReturnCode(r.code()).setReturnMessage(r.getMessage()).build());
        } catch (RuntimeException | Error e) {
            // Errors too (an OOM in the model, a native failure): the server must keep serving.
            logModelError(kind, request.getSynapseKey(), e);
            return OutgoingMessage.of(header(request).setReturnCode(ReturnCode.MODEL_ERROR)
                    .setReturnMessage(abbreviate(String.valueOf(e))).build());
        }
    }

    /** A full stack trace at most once a minute per synapse; one debug line otherwise. */
    private void logModelError(Kind kind, String synapseKey, Throwable e) {
        long now = System.nanoTime();
        Long last = lastModelErrorLog.get(synapseKey);
        if (last == null || now - last > MODEL_ERROR_LOG_INTERVAL_NANOS) {
            lastModelErrorLog.put(synapseKey, now);
            LOG.warn("{} for synapse {}: the neuron failed (further failures within a minute at DEBUG)",
                    kind, synapseKey, e);
        } else {
            LOG.debug("{} for synapse {}: the neuron failed: {}", kind, synapseKey, e.toString());
        }
    }

    private NativeTensor forward(Neuron neuron, TensorMessage request, Deque<AutoCloseable> held) {
        if (request.getTensorsCount() != 1) {
            throw new Refusal(ReturnCode.BAD_SHAPE, "Forward takes one tensor, got " + request.getTensorsCount());
        }
        Tensor in = request.getTensors(0);
        Modality modality = checkInput(in);
        // The input goes back to the pool once the reply is written (neurons keep no inputs).
        ArrayPool.PooledArray px = decode(in);
        held.push(px);
        INDArray x = px.array();
        INDArray y = runNeuron(() -> neuron.forward(modality, x));
        long[] s = x.shape();
        checkOutput(y, new long[] {s[0], s[1], Neuron.NETWORK_DIM}, "forward");
        // FLOAT32 on the wire: another dtype is cast into the tensor's private copy.
        return codec.encodeNative(y, Modality.TENSOR, false, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    }

    private NativeTensor backward(Neuron neuron, TensorMessage request, Deque<AutoCloseable> held) {
        if (request.getTensorsCount() != 2) {
            throw new Refusal(ReturnCode.BAD_SHAPE,
                    "Backward takes [inputs, grads], got " + request.getTensorsCount() + " tensor(s)");
        }
        Tensor in = request.getTensors(0);
        Tensor grad = request.getTensors(1);
        Modality modality = checkInput(in);
        long[] expected = {in.getShape(0), in.getShape(1), Neuron.NETWORK_DIM};
        if (!Arrays.equals(expected, shapeOf(grad))) {
            throw new Refusal(ReturnCode.BAD_SHAPE, "grads shape " + Arrays.toString(shapeOf(grad))
                    + " != outputs shape " + Arrays.toString(expected));
        }
        if (grad.getDtype() != DataType.FLOAT32 && grad.getDtype() != DataType.FLOAT64) {
            throw new Refusal(ReturnCode.BAD_DTYPE, "grads must be FLOAT32 or FLOAT64, got "
                    + grad.getDtype());
        }
        ArrayPool.PooledArray px = decode(in);
        held.push(px);
        ArrayPool.PooledArray pg = decode(grad);
        held.push(pg);
        return backward(neuron, modality, px.array(), pg.array());
    }

    private NativeTensor backward(Neuron neuron, Modality modality, INDArray x, INDArray g) {
        double norm = g.norm2Number().doubleValue();
        if (!Double.isFinite(norm)) {
            throw new Refusal(ReturnCode.NON_FINITE, "grads contain NaN or infinity");
        }
        if (norm > settings.maxGradientNorm()) {
            g = g.mul(settings.maxGradientNorm() / norm);
        }
        INDArray gradients = g;
        INDArray dx = runNeuron(() -> neuron.backward(modality, x, gradients));
        checkOutput(dx, x.shape(), "backward");
        return dx.dataType().isFPType() ? codec.encodeNative(dx, Modality.TENSOR, false)
                : codec.encodeNative(dx, Modality.TENSOR, false, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    }

    private interface NeuronCall {
        INDArray run();
    }

    private static INDArray runNeuron(NeuronCall call) {
        try {
            return call.run();
        } catch (UnsupportedModalityException e) {
            throw new Refusal(ReturnCode.UNSUPPORTED_MODALITY, e.getMessage());
        } catch (InvalidInputException e) {
            throw new Refusal(e.code(), e.getMessage());
        }
    }

    private static void checkOutput(INDArray y, long[] expected, String what) {
        if (y == null) {
            throw new Refusal(ReturnCode.MODEL_ERROR, "the neuron's " + what + " returned null");
        }
        if (!Arrays.equals(expected, y.shape())) {
            throw new Refusal(ReturnCode.MODEL_ERROR, "the neuron's " + what + " returned shape "
                    + Arrays.toString(y.shape()) + ", expected " + Arrays.toString(expected));
        }
    }

    /**
     * PROTOCOL.md checks on the input tensor's header, before any allocation: known modality,
     * rank 2 (TEXT) / 5 (IMAGE) / 3 (TENSOR), batch and sequence at least 1, integer TEXT ids.
     */
    private static Modality checkInput(Tensor t) {
        Modality m = t.getModality();
        int rank = switch (m) {
            case TEXT -> 2;
            case IMAGE -> 5;
            case TENSOR -> 3;
            default -> throw new Refusal(ReturnCode.MALFORMED_TENSOR,
                    "unknown modality " + t.getModalityValue());
        };
        if (t.getShapeCount() != rank) {
            throw new Refusal(ReturnCode.BAD_SHAPE, m + " inputs must have rank " + rank + ", got "
                    + t.getShapeCount());
        }
        if (t.getShape(0) < 1) {
            throw new Refusal(ReturnCode.BAD_SHAPE, "batch size must be >= 1, got " + t.getShape(0));
        }
        if (t.getShape(1) < 1) {
            throw new Refusal(ReturnCode.BAD_SHAPE, "sequence length must be >= 1, got " + t.getShape(1));
        }
        if (m == Modality.TEXT && t.getDtype() != DataType.INT64 && t.getDtype() != DataType.INT32) {
            throw new Refusal(ReturnCode.BAD_DTYPE, "TEXT token ids must be INT64 or INT32, got "
                    + t.getDtype());
        }
        return m;
    }

    private ArrayPool.PooledArray decode(Tensor t) {
        try {
            return codec.decode(t, inputs);
        } catch (TensorDecodeException e) {
            throw new Refusal(ReturnCodes.of(e.reason()), e.getMessage());
        }
    }

    private static long[] shapeOf(Tensor t) {
        long[] s = new long[t.getShapeCount()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.getShape(i);
        }
        return s;
    }

    private TensorMessage.Builder header(TensorMessage request) {
        TensorMessage.Builder b = TensorMessage.newBuilder().setVersion(TensorCodec.WIRE_VERSION)
                .setNeuronKey(neuronKey);
        String key = request.getSynapseKey();
        return key.length() <= MAX_HEADER_CHARS ? b.setSynapseKey(key) : b;
    }

    private void reply(ServerCallStreamObserver<OutgoingMessage> call, TensorMessage.Builder reply) {
        reply(call, OutgoingMessage.of(reply.build()));
    }

    /** Sends {@code reply}; gRPC writes it out before onNext returns, so what it reads may go after. */
    private void reply(ServerCallStreamObserver<OutgoingMessage> call, OutgoingMessage reply) {
        answered[reply.returnCode().getNumber()].increment();
        try {
            call.onNext(reply);
            call.onCompleted();
        } catch (RuntimeException e) {
            // The transport went away under us (client reset); nothing left to answer.
            LOG.debug("reply dropped: {}", e.toString());
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }

    AxonStats stats() {
        Map<ReturnCode, Long> counts = new java.util.EnumMap<>(ReturnCode.class);
        for (ReturnCode c : ReturnCode.values()) {
            if (c != ReturnCode.UNRECOGNIZED && answered[c.getNumber()].sum() > 0) {
                counts.put(c, answered[c.getNumber()].sum());
            }
        }
        int limit = settings.workerThreads() + settings.maxQueuedCalls();
        return new AxonStats(counts, limit - admission.availablePermits());
    }
}
