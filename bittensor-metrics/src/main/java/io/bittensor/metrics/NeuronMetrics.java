package io.bittensor.metrics;

import io.bittensor.axon.AxonStats;
import io.bittensor.metagraph.DropReason;
import io.bittensor.proto.ReturnCode;
import io.bittensor.session.NeuronSession;
import io.bittensor.telemetry.CallEvent;
import io.bittensor.telemetry.CallListener;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;

/**
 * A neuron's Prometheus series, and the HTTP endpoint that serves them at {@code /metrics}
 * (docs/metrics.md). Hand it to the Axon and Dendrite as their {@link CallListener} (for calls
 * served and made: by peer and return code, latency, bytes), {@link #watch} the session (queue,
 * gossip view, bans) and report training with {@link #training}. Thread-safe.
 *
 * <pre>{@code
 * try (NeuronMetrics metrics = NeuronMetrics.builder().build()) {
 *     NeuronSession s = NeuronSession.builder(config).callListener(metrics).build();
 *     metrics.watch(s).serve(9100);       // http://host:9100/metrics
 *     ...
 *     metrics.training("test", loss, accuracy);
 * }
 * }</pre>
 */
public final class NeuronMetrics implements CallListener, AutoCloseable {
    /** Default bound on distinct {@code peer} label values (others share "other"). */
    public static final int DEFAULT_MAX_PEER_LABELS = 64;

    /** Latency buckets, seconds: from loopback calls (~1 ms) to the Dendrite's default deadline. */
    private static final double[] LATENCY_BUCKETS =
            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PeerLabels peers;
    private final Counter served;
    private final Counter made;
    private final Histogram servedSeconds;
    private final Histogram madeSeconds;
    private final Counter bytes;
    private final Gauge loss;
    private final Gauge accuracy;
    private final Counter trainingSteps;
    private volatile NeuronSession session;
    private volatile HTTPServer server;

    private NeuronMetrics(Builder b) {
        this.peers = new PeerLabels(b.maxPeerLabels);
        served = Counter.builder().name("bittensor_axon_calls_total")
                .help("Forward/Backward calls served by our Axon, by caller and return code")
                .labelNames("method", "peer", "code").register(registry);
        made = Counter.builder().name("bittensor_dendrite_calls_total")
                .help("Forward/Backward calls made by our Dendrite, by peer and outcome (BANNED: not sent, peer backed off)")
                .labelNames("method", "peer", "code").register(registry);
        servedSeconds = Histogram.builder().name("bittensor_axon_call_seconds")
                .help("Time from request to reply of calls served").labelNames("method")
                .classicUpperBounds(LATENCY_BUCKETS).classicOnly().register(registry);
        madeSeconds = Histogram.builder().name("bittensor_dendrite_call_seconds")
                .help("Time from request to outcome of calls made (calls answered locally excluded)")
                .labelNames("method").classicUpperBounds(LATENCY_BUCKETS).classicOnly().register(registry);
        bytes = Counter.builder().name("bittensor_message_bytes_total")
                .help("Serialized Forward/Backward messages (tensors and header), by component and direction")
                .labelNames("component", "direction").register(registry);
        loss = Gauge.builder().name("bittensor_training_loss")
                .help("Latest loss reported by the training loop, by phase").labelNames("phase").register(registry);
        accuracy = Gauge.builder().name("bittensor_training_accuracy")
                .help("Latest accuracy (0..1) reported by the training loop, by phase").labelNames("phase")
                .register(registry);
        trainingSteps = Counter.builder().name("bittensor_training_steps_total")
                .help("Optimizer steps taken by the training loop").register(registry);
        GaugeWithCallback.builder().name("bittensor_axon_queue_depth")
                .help("Calls admitted by the Axon and not yet answered (running or waiting for a worker)")
                .callback(cb -> withSession(s -> cb.call(s.axon().stats().inFlight()))).register(registry);
        GaugeWithCallback.builder().name("bittensor_axon_queue_limit")
                .help("Calls the Axon admits at once; past it, calls are refused OVERLOADED")
                .callback(cb -> withSession(s -> cb.call(s.axon().settings().workerThreads()
                        + s.axon().settings().maxQueuedCalls()))).register(registry);
        CounterWithCallback.builder().name("bittensor_axon_refusals_total")
                .help("Calls the Axon refused without running a neuron, by return code")
                .labelNames("code").callback(cb -> withSession(s -> {
                    AxonStats st = s.axon().stats();
                    for (ReturnCode c : new ReturnCode[] {ReturnCode.OVERLOADED, ReturnCode.UNAUTHENTICATED}) {
                        cb.call(st.count(c), c.name());
                    }
                })).register(registry);
        GaugeWithCallback.builder().name("bittensor_metagraph_synapses")
                .help("Synapse entries in the metagraph (gossip view), ours included")
                .callback(cb -> withSession(s -> cb.call(s.metagraph().size()))).register(registry);
        GaugeWithCallback.builder().name("bittensor_metagraph_peers")
                .help("Gossip peers known (one per neuron where it proved its key), ourselves excluded")
                .callback(cb -> withSession(s -> cb.call(s.metagraph().peerCount()))).register(registry);
        CounterWithCallback.builder().name("bittensor_metagraph_dropped_total")
                .help("Gossip entries and messages dropped, by reason")
                .labelNames("reason").callback(cb -> withSession(s -> {
                    for (Map.Entry<DropReason, Long> e : s.metagraph().drops().entrySet()) {
                        cb.call(e.getValue(), e.getKey().name());
                    }
                })).register(registry);
        GaugeWithCallback.builder().name("bittensor_dendrite_banned_peers")
                .help("Peers the Dendrite is backing off from now (Forward calls to them answered BANNED locally)")
                .callback(cb -> withSession(s -> cb.call(s.dendrite().bannedPeers()))).register(registry);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The registry behind the endpoint, to add series of your own. */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** Reads queue, gossip-view and ban gauges from {@code session} from now on. */
    public NeuronMetrics watch(NeuronSession session) {
        this.session = session;
        return this;
    }

    /**
     * Serves {@code /metrics} (Prometheus text format) over HTTP on {@code port} of every
     * interface; 0 picks a free port ({@link #port()}).
     *
     * @throws UncheckedIOException if the port cannot be bound
     */
    public synchronized NeuronMetrics serve(int port) {
        if (server != null) {
            throw new IllegalStateException("already serving on port " + server.getPort());
        }
        try {
            server = HTTPServer.builder().port(port).registry(registry).buildAndStart();
        } catch (IOException e) {
            throw new UncheckedIOException("metrics endpoint could not bind port " + port, e);
        }
        return this;
    }

    /** The bound HTTP port. */
    public int port() {
        HTTPServer s = server;
        if (s == null) {
            throw new IllegalStateException("not serving");
        }
        return s.getPort();
    }

    @Override
    public void onCall(CallEvent e) {
        String method = e.method().name().toLowerCase(Locale.ROOT);
        String code = e.code().name();
        if (e.side() == CallEvent.Side.SERVED) {
            served.labelValues(method, peers.of(e.peer()), code).inc();
            servedSeconds.labelValues(method).observe(e.nanos() / 1e9);
            bytes.labelValues("axon", "in").inc(e.bytesIn());
            bytes.labelValues("axon", "out").inc(e.bytesOut());
        } else {
            made.labelValues(method, peers.of(e.peer()), code).inc();
            if (e.nanos() > 0) { // 0: answered locally (banned peer, bad address), nothing sent
                madeSeconds.labelValues(method).observe(e.nanos() / 1e9);
            }
            bytes.labelValues("dendrite", "in").inc(e.bytesIn());
            bytes.labelValues("dendrite", "out").inc(e.bytesOut());
        }
    }

    /**
     * The training loop's latest figures for {@code phase} (e.g. "train", "test"); a NaN
     * accuracy leaves the accuracy gauge as it was.
     */
    public void training(String phase, double lossValue, double accuracyValue) {
        loss.labelValues(phase).set(lossValue);
        if (!Double.isNaN(accuracyValue)) {
            accuracy.labelValues(phase).set(accuracyValue);
        }
    }

    /** Counts {@code n} optimizer steps. */
    public void steps(long n) {
        trainingSteps.inc(n);
    }

    /** Stops the HTTP endpoint. Idempotent. */
    @Override
    public synchronized void close() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    private void withSession(java.util.function.Consumer<NeuronSession> read) {
        NeuronSession s = session;
        if (s != null) {
            read.accept(s);
        }
    }

    /** Settings with defaults. */
    public static final class Builder {
        private int maxPeerLabels = DEFAULT_MAX_PEER_LABELS;

        private Builder() {
        }

        /** Most distinct peers with a {@code peer} label of their own; default 64. */
        public Builder maxPeerLabels(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("maxPeerLabels must be >= 0, got " + n);
            }
            this.maxPeerLabels = n;
            return this;
        }

        public NeuronMetrics build() {
            return new NeuronMetrics(this);
        }
    }
}
