package io.bittensor.session;

import io.bittensor.axon.Axon;
import io.bittensor.axon.AxonStats;
import io.bittensor.config.HostPort;
import io.bittensor.config.NeuronConfig;
import io.bittensor.crypto.KeyFiles;
import io.bittensor.crypto.Keypair;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.metagraph.Metagraph;
import io.bittensor.metagraph.MetagraphConfig;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import io.bittensor.telemetry.CallListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One neuron's place on the network, built from one {@link NeuronConfig}: its key, a
 * {@link Metagraph} (gossip), an {@link Axon} (serves its neurons) and a {@link Dendrite} (calls
 * peers). The original's {@code init / serve / start / stop}:
 *
 * <pre>{@code
 * try (NeuronSession s = NeuronSession.builder(config).shutdownHook(true).build()) {
 *     s.serve(synapseKey, neuron);   // served by the Axon, published in the metagraph
 *     s.start();                     // Axon, then metagraph (server + gossip loop)
 *     ... s.metagraph().synapses() ... s.forward(...) / call.backward(...) ...
 * }                                  // metagraph, then Axon, then Dendrite: nothing left running
 * }</pre>
 *
 * <p>Threads: {@link #serve} and {@link #forward} may be called from any thread; {@link #start}
 * and {@link #close} are serialized.
 */
public final class NeuronSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NeuronSession.class);

    private enum State { NEW, STARTED, CLOSED }

    private final NeuronConfig config;
    private final Keypair keypair;
    private final Metagraph metagraph;
    private final Axon axon;
    private final Dendrite dendrite;
    private final RemoteCallStats remote = new RemoteCallStats();
    /**
     * Synapses served, in order, with what each takes; published in the metagraph at start (the
     * axon port is known then).
     */
    private final Map<String, List<ServedInput>> served = new LinkedHashMap<>();
    private final Thread shutdownHook;
    private State state = State.NEW;

    private NeuronSession(Builder b, Keypair keypair) {
        this.config = b.config;
        this.keypair = keypair;
        MetagraphConfig.Builder mb = MetagraphConfig.builder()
                .port(config.metagraphPort())
                .advertiseHost(config.remoteIp())
                .metagraphSize(config.metagraphSize());
        if (b.bindHost != null) {
            mb.bindHost(b.bindHost);
        }
        for (HostPort p : config.bootstrap()) {
            mb.bootstrap(p.toString());
        }
        MetagraphConfig mc;
        try {
            mc = b.metagraph.apply(mb).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("metagraph settings: " + e.getMessage(), e);
        }
        Axon.Builder ab = Axon.builder().port(config.axonPort()).keypair(keypair).listener(b.listener);
        if (b.bindHost != null) {
            ab.bindAddress(b.bindHost);
        }
        Dendrite.Builder db = Dendrite.builder().keypair(keypair).remoteIp(config.remoteIp())
                .listener(b.listener);
        // Built in this order and closed in reverse if a later one fails, so a bad setting leaves
        // nothing behind.
        this.metagraph = new Metagraph(mc, keypair);
        Axon a = null;
        try {
            a = b.axon.apply(ab).build();
            this.dendrite = b.dendrite.apply(db).build();
        } catch (RuntimeException e) {
            if (a != null) {
                a.close();
            }
            metagraph.close();
            throw e;
        }
        this.axon = a;
        this.shutdownHook = b.shutdownHook ? new Thread(this::closeFromHook, "neuron-session-shutdown") : null;
    }

    /** A builder for a session with {@code config}; nothing is opened until {@link Builder#build()}. */
    public static Builder builder(NeuronConfig config) {
        return new Builder(config);
    }

    // ================================================================ lifecycle

    /**
     * Starts the Axon (binds axon_port), publishes every served synapse at
     * {@code remote_ip:axon port}, then starts the metagraph (binds metagraph_port, runs gossip).
     * Idempotent while running.
     *
     * @throws IllegalStateException after {@link #close()}
     * @throws java.io.UncheckedIOException or {@link io.bittensor.metagraph.MetagraphException} if a
     *                                      port cannot be bound (everything started is stopped again)
     */
    public synchronized NeuronSession start() {
        if (state == State.CLOSED) {
            throw new IllegalStateException("session is closed");
        }
        if (state == State.STARTED) {
            return this;
        }
        try {
            axon.start();
            for (String key : served.keySet()) {
                publish(key);
            }
            metagraph.start();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        state = State.STARTED;
        if (shutdownHook != null) {
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        }
        LOG.info("neuron {} up: axon {}:{}, metagraph {}, {} bootstrap peer(s), {} synapse(s) served",
                keypair.publicKeyHex(), config.remoteIp(), axon.port(), metagraph.selfAddress(),
                config.bootstrap().size(), served.size());
        return this;
    }

    /**
     * Stops the metagraph (no more gossip), then the Axon (calls in flight finish within its grace),
     * then the Dendrite; every thread and port of the session is released when this returns.
     * Idempotent; safe from any thread and from the shutdown hook.
     */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) {
            return;
        }
        boolean wasStarted = state == State.STARTED;
        state = State.CLOSED;
        if (shutdownHook != null && wasStarted && Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down: the hook runs (or ran) close(), which is idempotent.
            }
        }
        closeQuietly("metagraph", metagraph);
        closeQuietly("axon", axon);
        closeQuietly("dendrite", dendrite);
        if (wasStarted) {
            LOG.info("neuron {} stopped", keypair.publicKeyHex());
        }
    }

    private void closeFromHook() {
        LOG.info("shutting down (signal)");
        close();
    }

    private static void closeQuietly(String what, AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("closing the {} failed", what, e);
        }
    }

    public synchronized boolean isRunning() {
        return state == State.STARTED;
    }

    // ================================================================ serving

    /**
     * Serves {@code neuron} under {@code synapseKey} and publishes the synapse in the metagraph
     * ({@code remote_ip}, the Axon's port) — now if started, else at {@link #start()}. Serving again
     * under the same key swaps the neuron at once (e.g. a fresh snapshot of an improved model)
     * without re-publishing.
     */
    public synchronized void serve(String synapseKey, Neuron neuron) {
        Objects.requireNonNull(synapseKey, "synapseKey");
        Objects.requireNonNull(neuron, "neuron");
        if (state == State.CLOSED) {
            throw new IllegalStateException("session is closed");
        }
        axon.serve(synapseKey, neuron);
        boolean isNew = served.putIfAbsent(synapseKey, List.copyOf(neuron.serves())) == null;
        if (isNew && state == State.STARTED) {
            publish(synapseKey);
        }
    }

    /** Serves under a fresh random key (as the original's synapses); returns the key. */
    public String serve(Neuron neuron) {
        String key = Keypair.generate().publicKeyHex();
        serve(key, neuron);
        return key;
    }

    /** Stops serving {@code synapseKey} and withdraws it from the metagraph. */
    public synchronized boolean unserve(String synapseKey) {
        boolean had = served.remove(synapseKey) != null;
        axon.unserve(synapseKey);
        metagraph.unsubscribe(synapseKey);
        return had;
    }

    private void publish(String synapseKey) {
        metagraph.subscribe(synapseKey, config.remoteIp(), axon.port(), served.get(synapseKey));
    }

    // ================================================================ querying

    /**
     * {@link Dendrite#forward} with the results counted in {@link #stats()}. Call
     * {@link #backward} (not {@code call.backward}) to have the Backward results counted too.
     */
    public DendriteCall forward(List<Synapse> synapses, List<INDArray> inputs, Modality modality) {
        DendriteCall call = dendrite.forward(synapses, inputs, modality);
        remote.recordForward(call.results());
        return call;
    }

    /** {@link DendriteCall#backward} with the results counted in {@link #stats()}. */
    public List<INDArray> backward(DendriteCall call, List<INDArray> gradsWrtOutputs) {
        List<INDArray> grads = call.backward(gradsWrtOutputs);
        remote.recordBackward(call.backwardResults());
        return grads;
    }

    /** The counters behind {@link SessionStats#remoteCalls()}, for callers that use the Dendrite directly. */
    public RemoteCallStats remoteCalls() {
        return remote;
    }

    /** Live synapses known to the metagraph (ours included, first). */
    public List<Synapse> synapses() {
        return metagraph.synapses();
    }

    public SessionStats stats() {
        AxonStats a = axon.stats();
        long served = a.count(ReturnCode.OK);
        long all = a.answered().values().stream().mapToLong(Long::longValue).sum();
        return new SessionStats(served, all - served, remote.calls(), remote.ok(), metagraph.peerCount(),
                metagraph.synapses().size());
    }

    // ================================================================ parts

    public NeuronConfig config() {
        return config;
    }

    public Keypair keypair() {
        return keypair;
    }

    public Metagraph metagraph() {
        return metagraph;
    }

    public Axon axon() {
        return axon;
    }

    public Dendrite dendrite() {
        return dendrite;
    }

    /** The bound Axon port (after {@link #start()}). */
    public int axonPort() {
        return axon.port();
    }

    /** The bound metagraph port (after {@link #start()}). */
    public int metagraphPort() {
        return metagraph.port();
    }

    /** {@code remote_ip:metagraph port}: what another neuron passes as {@code --bootstrap}. */
    public String metagraphAddress() {
        return metagraph.selfAddress();
    }

    /**
     * The session's options beyond {@link NeuronConfig}: tests and simulations tune gossip timing or
     * bind to loopback here; a neuron main needs none of them.
     */
    public static final class Builder {
        private final NeuronConfig config;
        private Keypair keypair;
        private String bindHost;
        private boolean shutdownHook;
        private UnaryOperator<MetagraphConfig.Builder> metagraph = UnaryOperator.identity();
        private UnaryOperator<Axon.Builder> axon = UnaryOperator.identity();
        private UnaryOperator<Dendrite.Builder> dendrite = UnaryOperator.identity();
        private CallListener listener = CallListener.NONE;

        private Builder(NeuronConfig config) {
            this.config = Objects.requireNonNull(config, "config");
        }

        /** Use this key instead of the config's key file (tests). */
        public Builder keypair(Keypair keypair) {
            this.keypair = keypair;
            return this;
        }

        /** Bind the Axon and metagraph servers to this address only (default: every interface). */
        public Builder bindHost(String host) {
            this.bindHost = host;
            return this;
        }

        /** Close the session when the JVM shuts down (Ctrl-C, SIGTERM). Default false. */
        public Builder shutdownHook(boolean enabled) {
            this.shutdownHook = enabled;
            return this;
        }

        /** Adjusts the metagraph settings after the config's (port, size, bootstrap, remote_ip) are set. */
        public Builder metagraph(UnaryOperator<MetagraphConfig.Builder> tune) {
            this.metagraph = Objects.requireNonNull(tune);
            return this;
        }

        /** Hears every call the Axon serves and the Dendrite makes (e.g. bittensor-metrics); default none. */
        public Builder callListener(CallListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Adjusts the Axon settings after the config's (port, key) are set. */
        public Builder axon(UnaryOperator<Axon.Builder> tune) {
            this.axon = Objects.requireNonNull(tune);
            return this;
        }

        /** Adjusts the Dendrite settings after the config's (key, remote_ip) are set. */
        public Builder dendrite(UnaryOperator<Dendrite.Builder> tune) {
            this.dendrite = Objects.requireNonNull(tune);
            return this;
        }

        /**
         * Loads the key ({@code --neuron_key}, else {@code <datapath>/neuron.key}, created once) and
         * builds the parts; nothing is bound or started yet.
         *
         * @throws IOException if the key file cannot be read or created
         */
        public NeuronSession build() throws IOException {
            Keypair kp = keypair;
            if (kp == null) {
                Path file = config.neuronKeyFile();
                // A named key file must exist (a typo must not silently mint a new identity).
                kp = config.neuronKey().isPresent() ? KeyFiles.load(file) : KeyFiles.loadOrCreate(file);
            }
            return new NeuronSession(this, kp);
        }
    }
}
