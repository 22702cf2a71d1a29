package io.bittensor.axon;

import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.NonceWindow;
import io.bittensor.neuron.Neuron;
import io.bittensor.telemetry.CallListener;
import io.bittensor.tensor.TensorLimits;
import io.bittensor.tensor.ArrayPool;
import io.bittensor.transport.GrpcTransportLog;
import io.bittensor.transport.MalformedRequestGuard;
import io.bittensor.transport.NettyTransport;
import io.bittensor.transport.PeerErrorLog;
import io.bittensor.transport.ParseBuffers;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves local neurons to the network by {@code synapse_key}: the gRPC service {@code Bittensor}
 * with {@code Forward} and {@code Backward}, as PROTOCOL.md describes, plus a return code on
 * every reply (docs/axon.md).
 *
 * <pre>{@code
 * try (Axon axon = Axon.builder().port(0).keypair(kp).serve(synapseKey, neuron).build().start()) {
 *     int port = axon.port();
 *     ...
 * }
 * }</pre>
 *
 * <p>Owns its threads: Netty I/O threads, the neuron worker pool; {@link #close()} ends them all,
 * letting calls in flight finish for {@link AxonSettings#shutdownGrace()}.
 */
public final class Axon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Axon.class);
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /** The service name a health check may ask about (the Forward/Backward service). */
    public static final String SERVICE_NAME = "Bittensor";
    /** Idle native bytes the input pool may keep: a few hundred requests of a usual shape. */
    static final long INPUT_POOL_BYTES = 64L << 20;
    /** Idle heap bytes the request parse buffers may keep: ~200 requests of [64, 1, 512]. */
    static final long REQUEST_BUFFER_BYTES = 32L << 20;

    private final AxonSettings settings;
    private final Keypair keypair;
    private final Map<String, Neuron> neurons;
    private final AxonService service;
    private final PeerErrorLog peerErrors = new PeerErrorLog(LoggerFactory.getLogger("io.bittensor.axon.PeerErrors"));
    private final ThreadPoolExecutor workers;
    /** Decoded request inputs, reused warm (a fresh native array costs more than the copy). */
    private final ArrayPool inputs = new ArrayPool(INPUT_POOL_BYTES);
    /** Requests are read into these, reused warm (a fresh heap array per request cost more). */
    private final ParseBuffers requestBuffers = new ParseBuffers(REQUEST_BUFFER_BYTES);
    private final NettyTransport boss;
    private final NettyTransport io;
    private final Server server;
    /** grpc.health.v1.Health on the same port: SERVING once started, NOT_SERVING from close(). */
    private final HealthStatusManager health = new HealthStatusManager();
    private volatile boolean started;
    private volatile int boundPort = -1;
    private volatile boolean closed;

    private Axon(Builder b) {
        this.settings = b.settings();
        this.keypair = b.keypair != null ? b.keypair : Keypair.generate();
        this.neurons = new ConcurrentHashMap<>(b.neurons);
        int id = INSTANCES.incrementAndGet();
        AtomicInteger worker = new AtomicInteger();
        // Unbounded queue on purpose: the admission semaphore bounds it to maxQueuedCalls.
        this.workers = new ThreadPoolExecutor(settings.workerThreads(), settings.workerThreads(),
                0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "axon-" + id + "-worker-" + worker.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        NonceWindow nonces = new NonceWindow(settings.nonceWindow(), b.clockMicros, settings.nonceMemory());
        GrpcTransportLog.install(); // oversized requests: counted, not a trace each
        this.service = new AxonService(settings, keypair.publicKeyHex(), neurons, nonces, workers, inputs,
                requestBuffers, peerErrors);
        this.boss = new NettyTransport(1, "axon-" + id + "-accept");
        this.io = new NettyTransport(settings.ioThreads(), "axon-" + id + "-io");
        InetSocketAddress address = settings.bindAddress() == null
                ? new InetSocketAddress(settings.port())
                : new InetSocketAddress(settings.bindAddress(), settings.port());
        this.server = NettyServerBuilder.forAddress(address)
                .bossEventLoopGroup(boss.group())
                .workerEventLoopGroup(io.group())
                .channelType(NettyTransport.serverChannelType())
                .directExecutor()
                .maxInboundMessageSize(settings.maxInboundMessageBytes())
                // Bounded connection lifetimes: a connection a stranger stalled (e.g. with an
                // oversized message, whose flow-control window gRPC never returns) is closed.
                .maxConnectionIdle(settings.maxConnectionIdle().toMillis(), TimeUnit.MILLISECONDS)
                .maxConnectionAge(settings.maxConnectionAge().toMillis(), TimeUnit.MILLISECONDS)
                .maxConnectionAgeGrace(settings.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)
                // Requests whose bytes are not a TensorMessage: INVALID_ARGUMENT, not UNKNOWN.
                .addService(MalformedRequestGuard.guard(b.listener == CallListener.NONE
                        ? service.bindService()
                        : ServerInterceptors.intercept(service.bindService(),
                                new CallObserver(b.listener)), peerErrors))
                .addService(health.getHealthService())
                .build();
        health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING);
        health.setStatus(SERVICE_NAME, ServingStatus.NOT_SERVING);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds and starts serving; returns this. */
    public synchronized Axon start() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if (!started) {
            try {
                server.start();
            } catch (IOException e) {
                close();
                throw new UncheckedIOException("axon could not bind " + describeAddress(), e);
            }
            started = true;
            boundPort = server.getPort();
            health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
            health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
            LOG.info("axon serving {} synapse(s) on port {} as {}", neurons.size(), port(),
                    keypair.publicKeyHex());
        }
        return this;
    }

    private String describeAddress() {
        return (settings.bindAddress() == null ? "*" : settings.bindAddress()) + ":" + settings.port();
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        if (!started) {
            throw new IllegalStateException("not started");
        }
        return boundPort;
    }

    /** Serves (or replaces) {@code neuron} under {@code synapseKey}; takes effect at once. */
    public void serve(String synapseKey, Neuron neuron) {
        neurons.put(Objects.requireNonNull(synapseKey, "synapseKey"), Objects.requireNonNull(neuron, "neuron"));
    }

    /** Stops serving {@code synapseKey}; returns the neuron that served it, or null. */
    public Neuron unserve(String synapseKey) {
        return neurons.remove(synapseKey);
    }

    /** The key this Axon answers with ({@code neuron_key} of every reply). */
    public String neuronKey() {
        return keypair.publicKeyHex();
    }

    public AxonSettings settings() {
        return settings;
    }

    public AxonStats stats() {
        return service.stats();
    }

    /** Requests refused because of the caller's input, by kind (malformed bytes, each refusal code). */
    public Map<String, Long> peerErrors() {
        return peerErrors.counts();
    }

    /**
     * Stops accepting calls, lets calls in flight finish within the grace period, then cancels
     * the rest and ends every thread this Axon started. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        long graceMs = settings.shutdownGrace().toMillis();
        // Watchers and load balancers hear NOT_SERVING before the port stops taking calls.
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(graceMs, TimeUnit.MILLISECONDS)) {
                server.shutdownNow();
                server.awaitTermination(1, TimeUnit.SECONDS);
            }
            workers.shutdown();
            if (!workers.awaitTermination(graceMs, TimeUnit.MILLISECONDS)) {
                workers.shutdownNow();
                if (!workers.awaitTermination(1, TimeUnit.SECONDS)) {
                    LOG.warn("axon workers still running a neuron call after close");
                }
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
        io.close(Duration.ofSeconds(2));
        boss.close(Duration.ofSeconds(2));
        inputs.close(); // arrays still on loan (a worker past its grace) are freed when given back
        if (started) {
            LOG.info("axon on port {} closed", boundPort);
        }
    }

    /** Settings with defaults (docs/axon.md); {@link #build()} then {@link Axon#start()}. */
    public static final class Builder {
        private String bindAddress;
        private int port = 8091;
        private int workerThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private int maxQueuedCalls = 64;
        private int ioThreads = Math.min(2, Runtime.getRuntime().availableProcessors());
        private int maxInboundMessageBytes = 16 * 1024 * 1024;
        private TensorLimits tensorLimits = TensorLimits.DEFAULT;
        private boolean requireSignatures;
        private Duration nonceWindow = Duration.ofSeconds(60);
        private int nonceMemory = 1_000_000;
        private double maxGradientNorm = 1.0;
        private Duration shutdownGrace = Duration.ofSeconds(5);
        private Duration maxConnectionIdle = Duration.ofMinutes(5);
        private Duration maxConnectionAge = Duration.ofMinutes(30);
        private Duration inlineBelow = Duration.ZERO;
        private Keypair keypair;
        private LongSupplier clockMicros = NonceWindow.systemClockMicros();
        private final Map<String, Neuron> neurons = new LinkedHashMap<>();
        private CallListener listener = CallListener.NONE;

        private Builder() {
        }

        /** Hears every Forward and Backward answered (io.bittensor.telemetry); default none. */
        public Builder listener(CallListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Listen address; default every interface. */
        public Builder bindAddress(String host) {
            this.bindAddress = host;
            return this;
        }

        /** Default 8091 (the original's axon_port); 0 = ephemeral. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** Neuron calls running at once; default max(2, cores). */
        public Builder workerThreads(int n) {
            this.workerThreads = n;
            return this;
        }

        /** Admitted calls waiting for a worker; default 64. Beyond: OVERLOADED at once. */
        public Builder maxQueuedCalls(int n) {
            this.maxQueuedCalls = n;
            return this;
        }

        /** Netty I/O threads; default min(2, cores). */
        public Builder ioThreads(int n) {
            this.ioThreads = n;
            return this;
        }

        /** Largest accepted request; default 16 MiB (the original: gRPC's 4 MiB). */
        public Builder maxInboundMessageBytes(int bytes) {
            this.maxInboundMessageBytes = bytes;
            return this;
        }

        public Builder tensorLimits(TensorLimits limits) {
            this.tensorLimits = limits;
            return this;
        }

        /** Refuse unsigned requests; default false (Python peers sign nothing). */
        public Builder requireSignatures(boolean require) {
            this.requireSignatures = require;
            return this;
        }

        /** Accepted distance of a nounce from now, either way; default 60 s. */
        public Builder nonceWindow(Duration window) {
            this.nonceWindow = window;
            return this;
        }

        /** Replay-filter memory in (key, nounce) pairs; default 1 000 000. */
        public Builder nonceMemory(int pairs) {
            this.nonceMemory = pairs;
            return this;
        }

        /** L2 bound on incoming Backward gradients; default 1.0; infinity = no clipping. */
        public Builder maxGradientNorm(double norm) {
            this.maxGradientNorm = norm;
            return this;
        }

        /** How long close() lets calls finish; default 5 s. */
        public Builder shutdownGrace(Duration grace) {
            this.shutdownGrace = grace;
            return this;
        }

        /** A connection without calls for this long is closed; default 5 minutes. */
        public Builder maxConnectionIdle(Duration idle) {
            this.maxConnectionIdle = idle;
            return this;
        }

        /** Every connection is closed after this long (calls get {@code shutdownGrace} to finish); default 30 minutes. */
        public Builder maxConnectionAge(Duration age) {
            this.maxConnectionAge = age;
            return this;
        }

        /**
         * Serve a synapse's calls on the I/O thread that parsed them, with no hand-off to a
         * worker, while they take less than {@code threshold} on average (docs/axon.md, "Inline
         * calls"); default zero = never. Saves two thread wake-ups per call; the price is that a
         * call on an I/O thread holds up the other connections on that thread while it runs.
         * For fast models (a few hundred microseconds at most) that never block; not for
         * {@code BatchingNeuron}, whose calls wait for each other.
         */
        public Builder inlineBelow(Duration threshold) {
            this.inlineBelow = Objects.requireNonNull(threshold, "threshold");
            return this;
        }

        /** This neuron's key (the {@code neuron_key} of replies); default a fresh one. */
        public Builder keypair(Keypair keypair) {
            this.keypair = keypair;
            return this;
        }

        /** Clock for nounce freshness, microseconds since the epoch; default the system clock. */
        public Builder clockMicros(LongSupplier clock) {
            this.clockMicros = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Serves {@code neuron} under {@code synapseKey}. */
        public Builder serve(String synapseKey, Neuron neuron) {
            neurons.put(Objects.requireNonNull(synapseKey, "synapseKey"), Objects.requireNonNull(neuron, "neuron"));
            return this;
        }

        AxonSettings settings() {
            return new AxonSettings(bindAddress, port, workerThreads, maxQueuedCalls, ioThreads,
                    maxInboundMessageBytes, tensorLimits, requireSignatures, nonceWindow, nonceMemory,
                    maxGradientNorm, shutdownGrace, maxConnectionIdle, maxConnectionAge, inlineBelow);
        }

        /** Validates the settings and builds an Axon that is not yet listening. */
        public Axon build() {
            return new Axon(this);
        }
    }
}
