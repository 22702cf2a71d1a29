package io.bittensor.dendrite;

import io.bittensor.transport.NettyTransport;
import io.bittensor.transport.ParseBuffers;
import io.bittensor.transport.NativeMessageMarshaller;
import io.bittensor.transport.ReceivedMessage;
import io.bittensor.transport.TensorMessageMarshaller;
import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.NonceWindow;
import io.bittensor.crypto.RequestSigner;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.ReturnCodes;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.telemetry.CallEvent;
import io.bittensor.telemetry.CallListener;
import io.bittensor.tensor.ArrayPool;
import io.bittensor.tensor.NativeBuffers;
import io.bittensor.tensor.WireTensor;
import io.bittensor.tensor.TensorCodec;
import io.bittensor.tensor.TensorDecodeException;
import io.bittensor.tensor.TensorLimits;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls other neurons' models as if they were layers of one's own: a list of synapses, one input
 * each, one modality; every peer is called <b>concurrently</b> with a deadline, and every peer
 * yields an output {@code [batch, seq, 512]} (zeros when anything went wrong) and a
 * {@link PeerResult}. The returned {@link DendriteCall} sends the caller's gradients back through
 * Backward.
 *
 * <pre>{@code
 * try (Dendrite dendrite = Dendrite.builder().keypair(kp).timeout(Duration.ofSeconds(2)).build()) {
 *     DendriteCall call = dendrite.forward(synapses, inputs, Modality.TENSOR);
 *     List<INDArray> outputs = call.outputs();
 *     ... loss ...
 *     List<INDArray> inputGrads = call.backward(gradsWrtOutputs);
 * }
 * }</pre>
 *
 * <p>Thread-safe: any number of threads may call {@link #forward} at once. Owns its Netty I/O
 * threads and channels; {@link #close()} ends them.
 */
public final class Dendrite implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dendrite.class);
    /** Extra wait past the deadline before a call that gRPC has not ended counts as timed out. */
    private static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** Extra grace periods for a wait that wakes late (process paused or starved). */
    private static final int LATE_WAKE_GRACES = 5;

    private final DendriteSettings settings;
    private final Keypair keypair;
    private final TensorCodec codec;
    private final LongSupplier clockMicros;
    private final AtomicLong lastNounce = new AtomicLong();
    private final Backoff backoff;
    private final NettyTransport transport;
    private final ChannelPool channels;
    private final CallListener listener;
    /** Idle native bytes of reply blocks kept (closed calls' outputs): ~250 of [64, 1, 512]. */
    static final long REPLY_BLOCK_BYTES = 32L << 20;
    /**
     * Replies' tensor bytes are received straight into these blocks (one copy from gRPC's
     * buffers), and a Forward output is a view of its block, owned by the {@link DendriteCall}
     * until {@link DendriteCall#close()} gives it back. A fresh native array per reply, freed only
     * by a GC, cost ~25 µs to make and, at a thousand replies a second, far more in the GC-driven
     * frees (docs/benchmarks.md); a copy into a pooled array was a second copy.
     */
    private final NativeBuffers replyBlocks = new NativeBuffers(REPLY_BLOCK_BYTES);
    /**
     * Forward outputs of at least this many bytes are views of their reply block; smaller ones
     * are copied into {@link #replyArrays}: a new INDArray costs ND4J ~13 µs here (shape buffer,
     * deallocator entries), a copy of a [64, 1, 512] reply into a warm pooled array ~2 µs, so
     * for small replies the view cost more than the copy it saves (docs/benchmarks.md).
     */
    static final long VIEW_MIN_BYTES = 1L << 20;
    /** Idle native bytes of small Forward outputs given back by closed calls: ~250 of [64, 1, 512]. */
    static final long REPLY_ARRAY_BYTES = 32L << 20;
    private final ArrayPool replyArrays = new ArrayPool(REPLY_ARRAY_BYTES);
    /** Idle heap bytes of encoded Forward inputs given back by closed calls: ~125 of [64, 1, 512]. */
    static final long REQUEST_BUFFER_BYTES = 16L << 20;
    /**
     * Forward inputs are encoded into these (a fresh 128 KiB array per request was ~9 µs and as
     * much garbage); the call keeps them for Backward and {@link DendriteCall#close()} gives them back.
     */
    private final ParseBuffers requestBuffers = new ParseBuffers(REQUEST_BUFFER_BYTES);
    /** Forward and Backward: requests written by protobuf, replies parsed into pooled buffers. */
    private final MethodDescriptor<TensorMessage, ReceivedMessage> forwardMethod;
    private final MethodDescriptor<TensorMessage, ReceivedMessage> backwardMethod;
    private volatile boolean closed;

    private Dendrite(Builder b) {
        this.settings = b.settings();
        this.listener = b.listener;
        this.keypair = b.keypair != null ? b.keypair : Keypair.generate();
        this.codec = new TensorCodec(settings.tensorLimits());
        // Replies' tensors land in native blocks: Forward outputs are views of them (the call
        // owns them), Backward's are copied out for the caller to keep.
        NativeMessageMarshaller replies = new NativeMessageMarshaller(replyBlocks);
        this.forwardMethod = TensorMessageMarshaller.FORWARD.toBuilder(TensorMessageMarshaller.INSTANCE, replies).build();
        this.backwardMethod = TensorMessageMarshaller.BACKWARD.toBuilder(TensorMessageMarshaller.INSTANCE, replies).build();
        this.clockMicros = b.clockMicros;
        this.backoff = new Backoff(settings.banInitial(), settings.banMax(), b.clockNanos,
                settings.maxRemembered());
        this.transport = new NettyTransport(settings.ioThreads(), "dendrite-io");
        this.channels = new ChannelPool(transport, settings.maxChannels(), settings.maxInboundMessageBytes());
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Calls every synapse with its input, concurrently, and waits for all (each bounded by the
     * deadline). Inputs: TEXT {@code [batch, seq]} int64, IMAGE {@code [batch, seq, c, h, w]},
     * TENSOR {@code [batch, seq, features]}.
     *
     * @throws IllegalArgumentException for lists of different sizes or an input of the wrong rank
     * @throws IllegalStateException after {@link #close()}
     */
    public DendriteCall forward(List<Synapse> synapses, List<INDArray> inputs, Modality modality) {
        return await(forwardAsync(synapses, inputs, modality));
    }

    /** As {@link #forward}, without waiting: the future completes when every peer has answered. */
    public CompletableFuture<DendriteCall> forwardAsync(List<Synapse> synapses, List<INDArray> inputs,
                                                        Modality modality) {
        Objects.requireNonNull(modality, "modality");
        if (closed) {
            throw new IllegalStateException("dendrite closed");
        }
        if (synapses.size() != inputs.size()) {
            throw new IllegalArgumentException(synapses.size() + " synapses but " + inputs.size() + " inputs");
        }
        int rank = switch (modality) {
            case TEXT -> 2;
            case IMAGE -> 5;
            case TENSOR -> 3;
            default -> throw new IllegalArgumentException("modality " + modality);
        };
        int n = synapses.size();
        for (int i = 0; i < n; i++) {
            INDArray x = inputs.get(i);
            if (x.rank() != rank) {
                throw new IllegalArgumentException(modality + " inputs must have rank " + rank
                        + ", input " + i + " has shape " + Arrays.toString(x.shape()));
            }
        }
        Map<INDArray, Tensor> encoded = new IdentityHashMap<>();
        Tensor[] sent = new Tensor[n];
        List<AutoCloseable> leases = new ArrayList<>(1);
        List<CompletableFuture<Reply>> peers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            sent[i] = encoded.computeIfAbsent(inputs.get(i), a -> codec.encode(a, modality, false, length -> {
                ParseBuffers.Lease lease = requestBuffers.acquire(length);
                leases.add(lease);
                return lease.array();
            }));
        }
        for (int i = 0; i < n; i++) {
            long[] s = inputs.get(i).shape();
            long[] outShape = {s[0], s[1], Neuron.NETWORK_DIM};
            peers.add(call(true, synapses.get(i), List.of(sent[i]), outShape, DataType.FLOAT));
        }
        return CompletableFuture.allOf(peers.toArray(CompletableFuture[]::new))
                .thenApply(v -> new DendriteCall(this, modality, synapses, inputs, sent, joinAll(peers), leases));
    }

    /**
     * Waits for {@code done}, bounded by the deadline plus a grace period. gRPC ends every call
     * at its deadline, so every peer's reply is completed by then; but when the whole process was
     * paused (SIGSTOP, a VM suspended, a long GC) or starved of CPU, this thread and gRPC's
     * deadline timers wake together or late, so a timeout gets up to {@link #LATE_WAKE_GRACES} more grace
     * periods before it counts as a bug. (Both crashed a neuron before: a frozen one on resume,
     * and one starved at load 17.)
     *
     * @throws IllegalStateException if the wait was interrupted or the transport failed to end a call
     */
    public <T> T await(CompletableFuture<T> done) {
        try {
            long wait = settings.timeout().toNanos() + GRACE_NANOS;
            for (int late = 0; ; late++) {
                try {
                    return done.get(wait, TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    if (late == LATE_WAKE_GRACES) {
                        throw e;
                    }
                    wait = GRACE_NANOS;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for peers", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("dendrite call failed", e.getCause());
        } catch (TimeoutException e) {
            // gRPC ends every call at its deadline: this is a transport bug, or a JVM starved for 10+ s.
            throw new IllegalStateException("peers did not answer within the deadline + 6 grace periods", e);
        }
    }

    /**
     * One peer's reply, decoded: the value is never null (zeros on failure). {@code owner}, if
     * not null, holds the native block the value views (or its pooled array) and gives it back
     * when closed.
     */
    record Reply(INDArray value, PeerResult result, AutoCloseable owner) {
        Reply(INDArray value, PeerResult result) {
            this(value, result, null);
        }
    }

    static List<Reply> joinAll(List<CompletableFuture<Reply>> peers) {
        List<Reply> out = new ArrayList<>(peers.size());
        for (CompletableFuture<Reply> f : peers) {
            out.add(f.join());
        }
        return out;
    }

    /**
     * Sends {@code tensors} to one synapse's Forward or Backward and decodes the reply, expecting
     * {@code expected} (shape) of a floating type, cast to {@code dtype}. Never completes
     * exceptionally: any failure is a zero value and a code.
     */
    CompletableFuture<Reply> call(boolean forward, Synapse synapse, List<Tensor> tensors,
                                  long[] expected, DataType dtype) {
        if (listener == CallListener.NONE) {
            return send(forward, synapse, tensors, expected, dtype, null);
        }
        long[] bytes = new long[2]; // out, in: written before the future completes
        return send(forward, synapse, tensors, expected, dtype, bytes).whenComplete((reply, t) -> {
            if (reply != null) {
                report(forward, synapse, reply.result(), bytes);
            }
        });
    }

    private void report(boolean forward, Synapse synapse, PeerResult r, long[] bytes) {
        try {
            listener.onCall(new CallEvent(CallEvent.Side.MADE,
                    forward ? CallEvent.Method.FORWARD : CallEvent.Method.BACKWARD,
                    synapse.getNeuronKey(), r.code(), r.latency().toNanos(), bytes[1], bytes[0]));
        } catch (RuntimeException e) {
            LOG.debug("call listener failed: {}", e.toString());
        }
    }

    /** {@link #call}; {@code bytes}, if given, receives the request's and the reply's sizes. */
    private CompletableFuture<Reply> send(boolean forward, Synapse synapse, List<Tensor> tensors,
                                          long[] expected, DataType dtype, long[] bytes) {
        String key = synapse.getSynapseKey();
        Duration banned = backoff.remaining(key);
        if (!banned.isZero()) {
            return CompletableFuture.completedFuture(new Reply(Nd4j.zeros(dtype, expected),
                    new PeerResult(key, ReturnCode.BANNED, Duration.ZERO,
                            "backed off for another " + banned.toMillis() + " ms")));
        }
        String target;
        try {
            target = endpoint(synapse);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(finish(forward, key, expected, dtype, ReturnCode.UNAVAILABLE,
                    0, e.getMessage(), null));
        }
        TensorMessage.Builder request = TensorMessage.newBuilder()
                .setVersion(TensorCodec.WIRE_VERSION)
                .setNeuronKey(keypair.publicKeyHex())
                .setSynapseKey(key)
                .addAllTensors(tensors);
        TensorMessage message = settings.signRequests()
                ? RequestSigner.sign(request.build(), keypair, nextNounce())
                : request.build();
        CompletableFuture<Reply> result = new CompletableFuture<>();
        if (bytes != null) {
            bytes[0] = message.getSerializedSize();
        }
        long start = System.nanoTime();
        StreamObserver<ReceivedMessage> observer = new StreamObserver<>() {
            private ReceivedMessage reply;

            @Override
            public void onNext(ReceivedMessage value) {
                if (reply != null) {
                    reply.close(); // a unary call has one; never expected
                }
                reply = value;
                if (bytes != null) {
                    bytes[1] = value.wireLength();
                }
            }

            @Override
            public void onError(Throwable t) {
                if (reply != null) {
                    reply.close();
                }
                Status status = Status.fromThrowable(t);
                String detail = status.getCode() + (status.getDescription() == null ? ""
                        : ": " + status.getDescription());
                result.complete(finish(forward, key, expected, dtype, ReturnCodes.of(status.getCode()),
                        System.nanoTime() - start, detail, null));
            }

            @Override
            public void onCompleted() {
                // A Forward output's tensor is taken by its Reply; whatever is left goes back here.
                try (ReceivedMessage r = reply) {
                    result.complete(interpret(forward, key, r, expected, dtype, System.nanoTime() - start));
                }
            }
        };
        try {
            // Replies parsed into pooled buffers, tensors aliased there and decoded on completion.
            ClientCall<TensorMessage, ReceivedMessage> call = channels.get(target).newCall(
                    forward ? forwardMethod : backwardMethod,
                    CallOptions.DEFAULT.withDeadlineAfter(settings.timeout().toNanos(), TimeUnit.NANOSECONDS));
            ClientCalls.asyncUnaryCall(call, message, observer);
        } catch (RuntimeException e) {
            // e.g. the dendrite was closed under us
            result.complete(finish(forward, key, expected, dtype, ReturnCode.RPC_ERROR, System.nanoTime() - start,
                    e.toString(), null));
        }
        return result;
    }

    private Reply interpret(boolean forward, String key, ReceivedMessage received, long[] expected, DataType dtype,
                            long nanos) {
        TensorMessage reply = received == null ? null : received.header();
        if (reply == null || reply.getTensorsCount() == 0) {
            ReturnCode peerCode = reply == null ? ReturnCode.UNSET : reply.getReturnCode();
            if (peerCode == ReturnCode.UNSET || peerCode == ReturnCode.OK
                    || peerCode == ReturnCode.UNRECOGNIZED) {
                return finish(forward, key, expected, dtype, ReturnCode.BAD_REPLY, nanos, "null response", null);
            }
            return finish(forward, key, expected, dtype, peerCode, nanos, reply.getReturnMessage(), null);
        }
        // A Forward output is a view of its reply block (small ones: a copy in a pooled array),
        // which the DendriteCall owns and gives back when closed; Backward's are returned to the
        // caller for good (DendriteCall.backward), so they are copied out and the block goes back
        // with the message.
        AutoCloseable owner = null;
        INDArray value;
        try {
            if (forward && received.tensor(0).byteLength() >= VIEW_MIN_BYTES) {
                WireTensor w = received.take(0);
                owner = w;
                value = codec.decodeView(w);
            } else if (forward) {
                ArrayPool.PooledArray p = codec.decode(received.tensor(0), replyArrays);
                owner = p;
                value = p.array();
            } else {
                value = codec.decode(received.tensor(0));
            }
        } catch (TensorDecodeException e) {
            close(owner);
            return finish(forward, key, expected, dtype, ReturnCode.BAD_REPLY, nanos, "undecodable reply: "
                    + e.getMessage(), null);
        }
        if (!Arrays.equals(expected, value.shape())) {
            String shape = Arrays.toString(value.shape());
            close(owner);
            return finish(forward, key, expected, dtype, ReturnCode.BAD_REPLY, nanos, "reply shape "
                    + shape + ", expected " + Arrays.toString(expected), null);
        }
        if (value.dataType() != dtype) {
            value = value.castTo(dtype); // a fresh array: the block goes back now
            close(owner);
            owner = null;
        }
        sanitize(value);
        Reply r = finish(forward, key, expected, dtype, ReturnCode.OK, nanos, "", value);
        return new Reply(r.value(), r.result(), owner);
    }

    private static void close(AutoCloseable owner) {
        if (owner != null) {
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException("could not give a reply buffer back", e);
            }
        }
    }

    /** Heap bytes of encoded Forward inputs held idle for reuse (closed calls' buffers). */
    public long idleRequestBytes() {
        return requestBuffers.idleBytes();
    }

    /**
     * Native bytes held idle for reuse: closed calls' outputs (blocks and pooled arrays). Zero
     * while calls are never {@link DendriteCall#close() closed}: each reply then costs a fresh
     * native allocation, freed only by a garbage collection.
     */
    public long idleReplyBytes() {
        return replyBlocks.idleBytes() + replyArrays.idleBytes();
    }

    /** Reply blocks allocated so far (not reused). */
    long replyBlockAllocations() {
        return replyBlocks.allocations();
    }

    /**
     * Replaces NaN and ±infinity by 0 in place: a peer's garbage must not poison the caller's
     * model. A finite sum of absolute values proves there is nothing to replace (NaN and infinity
     * carry through it); otherwise two replace ops (M2.1's {@code Conditions.notFinite()} matches
     * nothing). The common path asks BLAS ({@code sasum}/{@code dasum}: ~10 µs for 32 768 floats)
     * rather than ND4J's reduce op ({@code sumNumber}: 50-75 µs, mostly op set-up).
     */
    static void sanitize(INDArray value) {
        if (value.isEmpty() || Double.isFinite(absSum(value))) {
            return;
        }
        BooleanIndexing.replaceWhere(value, 0.0, Conditions.isNan());
        BooleanIndexing.replaceWhere(value, 0.0, Conditions.isInfinite());
    }

    /** Σ|x| (may overflow to infinity for huge finite values: the replace ops then find nothing). */
    private static double absSum(INDArray value) {
        DataType t = value.dataType();
        if ((t == DataType.FLOAT || t == DataType.DOUBLE) && !value.isView()
                && value.ordering() == 'c' && value.length() <= Integer.MAX_VALUE) {
            INDArray flat = value.rank() == 1 ? value : value.reshape(value.length());
            return Nd4j.getBlasWrapper().level1().asum(flat);
        }
        return value.sumNumber().doubleValue();
    }

    /**
     * Records a Forward's outcome for the ban list and builds the reply (zeros unless a value is
     * given). Backward outcomes never ban: the ban protects Forward from dead or slow peers, and
     * the original Python peer answers every Backward with a [1, 1] placeholder, which would
     * otherwise get every Python peer banned after each training step. A refusal of our input
     * ({@link #refusesInput}) neither bans nor clears a ban: the peer is healthy, the input was
     * not one it takes.
     */
    private Reply finish(boolean forward, String key, long[] expected, DataType dtype, ReturnCode code,
                         long nanos, String message, INDArray value) {
        if (!forward) {
            LOG.debug("peer {} backward: {} {}", key, code, message);
        } else if (code == ReturnCode.OK) {
            backoff.success(key);
        } else if (refusesInput(code)) {
            LOG.debug("peer {} does not take this input ({} {})", key, code, message);
        } else {
            Duration ban = backoff.failure(key);
            LOG.debug("peer {} failed ({} {}); banned for {} ms", key, code, message, ban.toMillis());
        }
        INDArray out = value != null ? value : Nd4j.zeros(dtype, expected);
        return new Reply(out, new PeerResult(key, code, Duration.ofNanos(nanos), message));
    }

    /** Codes that say the peer does not take this kind of input (not that it is unwell). */
    static boolean refusesInput(ReturnCode code) {
        return code == ReturnCode.UNSUPPORTED_MODALITY || code == ReturnCode.BAD_SHAPE
                || code == ReturnCode.BAD_DTYPE;
    }

    /** A gradient w.r.t. outputs as sent in Backward: float32 (or float64), TENSOR modality. */
    Tensor encodeGradient(INDArray g) {
        return codec.encode(g.dataType() == DataType.FLOAT || g.dataType() == DataType.DOUBLE
                ? g : g.castTo(DataType.FLOAT), Modality.TENSOR);
    }

    /** "host:port" of a synapse; loopback for our own advertised address. */
    String endpoint(Synapse s) {
        String host = s.getAddress();
        if (host.isEmpty()) {
            throw new IllegalArgumentException("synapse has no address");
        }
        int port;
        try {
            port = Integer.parseInt(s.getPort().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("synapse port '" + s.getPort() + "' is not a number");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("synapse port " + port + " is out of range");
        }
        if (host.equals(settings.remoteIp())) {
            host = "localhost";
        }
        if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
            host = "[" + host + "]"; // an IPv6 literal
        }
        return host + ":" + port;
    }

    /** Time-based (µs since the epoch) and strictly increasing per dendrite, across threads. */
    long nextNounce() {
        long now = clockMicros.getAsLong();
        return lastNounce.accumulateAndGet(now, (prev, t) -> Math.max(prev + 1, t));
    }

    /** The key requests are sent (and signed) with. */
    public String neuronKey() {
        return keypair.publicKeyHex();
    }

    public DendriteSettings settings() {
        return settings;
    }

    /** How long {@code synapseKey} stays banned from now; zero if it is not. */
    /** Peers (synapse keys) banned right now. */
    public int bannedPeers() {
        return backoff.bannedCount();
    }

    public Duration bannedFor(String synapseKey) {
        return backoff.remaining(synapseKey);
    }

    /** Channels open now (at most {@link DendriteSettings#maxChannels()}). */
    public int openChannels() {
        return channels.size();
    }

    /** Channels closed so far to respect the bound. */
    public long evictedChannels() {
        return channels.evictions();
    }

    /** True when a channel to {@code synapse}'s endpoint is open. */
    public boolean hasChannel(Synapse synapse) {
        return channels.isOpen(endpoint(synapse));
    }

    /** Closes every channel (cancelling calls in flight) and the I/O threads. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        channels.close();
        transport.close(Duration.ofSeconds(2));
        replyBlocks.close(); // outputs of calls still open are freed when those calls close
        replyArrays.close();
    }

    /** Settings with defaults (docs/dendrite.md). */
    public static final class Builder {
        private Duration timeout = Duration.ofSeconds(5);
        private String remoteIp;
        private boolean signRequests = true;
        private int maxChannels = 256;
        private Duration banInitial = Duration.ofSeconds(1);
        private Duration banMax = Duration.ofMinutes(5);
        private int maxRemembered = 100_000;
        private int maxInboundMessageBytes = 64 * 1024 * 1024;
        private int ioThreads = Math.min(2, Runtime.getRuntime().availableProcessors());
        private TensorLimits tensorLimits = TensorLimits.DEFAULT;
        private Keypair keypair;
        private LongSupplier clockMicros = NonceWindow.systemClockMicros();
        private LongSupplier clockNanos = System::nanoTime;
        private CallListener listener = CallListener.NONE;

        private Builder() {
        }

        /** Deadline of each peer's call; default 5 s. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** Our advertised address: synapses there are called on localhost. Default none. */
        public Builder remoteIp(String remoteIp) {
            this.remoteIp = remoteIp;
            return this;
        }

        /** Sign requests (docs/crypto.md); default true. */
        public Builder signRequests(boolean sign) {
            this.signRequests = sign;
            return this;
        }

        /** Bound on open channels; default 256. */
        public Builder maxChannels(int n) {
            this.maxChannels = n;
            return this;
        }

        /** First ban of a failing peer; default 1 s, doubling per further failure. */
        public Builder banInitial(Duration d) {
            this.banInitial = d;
            return this;
        }

        /** Longest ban; default 5 min. */
        public Builder banMax(Duration d) {
            this.banMax = d;
            return this;
        }

        /** Failing peers remembered; default 100 000. */
        public Builder maxRemembered(int n) {
            this.maxRemembered = n;
            return this;
        }

        /** Largest reply accepted; default 64 MiB. */
        public Builder maxInboundMessageBytes(int bytes) {
            this.maxInboundMessageBytes = bytes;
            return this;
        }

        /** Netty I/O threads; default min(2, cores). */
        public Builder ioThreads(int n) {
            this.ioThreads = n;
            return this;
        }

        public Builder tensorLimits(TensorLimits limits) {
            this.tensorLimits = limits;
            return this;
        }

        /** The caller's key (neuron_key of requests, signer); default a fresh one. */
        public Builder keypair(Keypair keypair) {
            this.keypair = keypair;
            return this;
        }

        /** Clock of nounces, µs since the epoch; default the system clock. */
        public Builder clockMicros(LongSupplier clock) {
            this.clockMicros = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Monotonic clock of bans, ns; default System::nanoTime. */
        public Builder clockNanos(LongSupplier clock) {
            this.clockNanos = Objects.requireNonNull(clock, "clock");
            return this;
        }

        DendriteSettings settings() {
            return new DendriteSettings(timeout, remoteIp, signRequests, maxChannels, banInitial,
                    banMax, maxRemembered, maxInboundMessageBytes, ioThreads, tensorLimits);
        }

        /** Hears every Forward and Backward's outcome (io.bittensor.telemetry); default none. */
        public Builder listener(CallListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        public Dendrite build() {
            return new Dendrite(this);
        }
    }
}
