package io.bittensor.metagraph;

import io.bittensor.crypto.ProofOfWork;
import io.bittensor.crypto.SynapseSigner;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Immutable settings of a {@link Metagraph}. Defaults follow the original peer where it has one
 * (interval 10 s, request timeout 0.5 s, 10 peers and 1000 synapses per message, TTL 15 s,
 * metagraph_size 10000, port 8092); the rest are ours and documented in docs/metagraph.md.
 */
public final class MetagraphConfig {

    /** Upper bound on any string field of a received synapse (UTF-8 bytes). */
    public static final int DEFAULT_MAX_FIELD_BYTES = 256;
    /** Upper bound on one received "host:port" peer string. */
    public static final int MAX_PEER_CHARS = 300;

    private final int port;
    private final String bindHost;
    private final String advertiseHost;
    private final List<String> bootstrap;
    private final Duration interval;
    private final Duration requestTimeout;
    private final int peersPerMessage;
    private final int viewPeersPerMessage;
    private final Duration peerTtl;
    private final int synapsesPerMessage;
    private final Duration ttl;
    private final Duration expiryHorizon;
    private final Duration reissueEvery;
    private final Duration maxExpiryAhead;
    private final int metagraphSize;
    private final int maxPeers;
    private final int warmupRounds;
    private final int warmupFanout;
    private final int powDifficulty;
    private final int maxNounce;
    private final boolean acceptUnsigned;
    private final boolean keepRelayedSignatures;
    private final int maxMessageBytes;
    private final int maxFieldBytes;
    private final int serverThreads;
    private final int serverQueue;
    private final int absorbQueue;
    private final Duration bootstrapBackoffMax;
    private final Duration peerQuarantine;
    private final Clock clock;
    private final long seed;

    private MetagraphConfig(Builder b) {
        port = b.port;
        bindHost = b.bindHost;
        advertiseHost = b.advertiseHost;
        bootstrap = List.copyOf(b.bootstrap);
        interval = b.interval;
        requestTimeout = b.requestTimeout;
        peersPerMessage = b.peersPerMessage;
        viewPeersPerMessage = b.viewPeersPerMessage;
        peerTtl = b.peerTtl != null ? b.peerTtl : b.expiryHorizon;
        synapsesPerMessage = b.synapsesPerMessage;
        ttl = b.ttl;
        expiryHorizon = b.expiryHorizon;
        reissueEvery = b.reissueEvery != null ? b.reissueEvery : b.interval;
        maxExpiryAhead = b.maxExpiryAhead;
        metagraphSize = b.metagraphSize;
        maxPeers = b.maxPeers;
        warmupRounds = b.warmupRounds;
        warmupFanout = b.warmupFanout;
        powDifficulty = b.powDifficulty;
        maxNounce = b.maxNounce >= 0 ? b.maxNounce : defaultMaxNounce(b.powDifficulty);
        acceptUnsigned = b.acceptUnsigned;
        keepRelayedSignatures = b.keepRelayedSignatures;
        maxMessageBytes = b.maxMessageBytes;
        maxFieldBytes = b.maxFieldBytes;
        serverThreads = b.serverThreads;
        serverQueue = b.serverQueue;
        absorbQueue = b.absorbQueue;
        bootstrapBackoffMax = b.bootstrapBackoffMax;
        peerQuarantine = b.peerQuarantine != null ? b.peerQuarantine : b.expiryHorizon;
        clock = b.clock;
        seed = b.seed;
        validate();
    }

    /**
     * 64 times the expected nounce of the difficulty (an honest solver exceeds it with
     * probability e^-64), at least 2^16: receivers hash O(nounce) bytes per entry, so this caps
     * what one hostile entry costs us.
     */
    static int defaultMaxNounce(int difficulty) {
        long expected = 1L << (4 * Math.min(difficulty, 6));
        return (int) Math.min(SynapseSigner.MAX_NOUNCE, Math.max(1 << 16, 64 * expected));
    }

    private void validate() {
        require(port >= 0 && port <= 65535, "port must be in [0, 65535], got " + port);
        require(!bindHost.isBlank(), "bindHost must not be blank");
        require(!advertiseHost.isBlank() && !advertiseHost.contains(":"),
                "advertiseHost must be a host name or IPv4 address, got " + advertiseHost);
        for (String b : bootstrap) {
            require(PeerAddress.parse(b) != null, "bootstrap must be host:port, got " + b);
        }
        positive(interval, "interval");
        positive(requestTimeout, "requestTimeout");
        positive(ttl, "ttl");
        positive(expiryHorizon, "expiryHorizon");
        positive(reissueEvery, "reissueEvery");
        require(reissueEvery.compareTo(expiryHorizon) < 0,
                "reissueEvery (" + reissueEvery + ") must be shorter than expiryHorizon ("
                        + expiryHorizon + "), or local entries would lapse between re-issues");
        require(maxExpiryAhead.compareTo(expiryHorizon) >= 0,
                "maxExpiryAhead must be at least expiryHorizon");
        require(peersPerMessage >= 1, "peersPerMessage must be >= 1");
        require(viewPeersPerMessage >= 0, "viewPeersPerMessage must be >= 0");
        positive(peerTtl, "peerTtl");
        require(synapsesPerMessage >= 1, "synapsesPerMessage must be >= 1");
        require(metagraphSize >= 1, "metagraphSize must be >= 1");
        require(maxPeers >= 1, "maxPeers must be >= 1");
        require(warmupRounds >= 0, "warmupRounds must be >= 0");
        require(warmupFanout >= 1, "warmupFanout must be >= 1");
        require(powDifficulty >= 0 && powDifficulty <= ProofOfWork.MAX_DIFFICULTY,
                "powDifficulty must be in [0, 64], got " + powDifficulty);
        require(maxNounce >= 0 && maxNounce <= SynapseSigner.MAX_NOUNCE,
                "maxNounce must be in [0, " + SynapseSigner.MAX_NOUNCE + "]");
        require(maxMessageBytes >= 64 * 1024, "maxMessageBytes must be >= 64 KiB");
        require(maxFieldBytes >= 66, "maxFieldBytes must hold a key (66)");
        require(serverThreads >= 1, "serverThreads must be >= 1");
        require(serverQueue >= 1, "serverQueue must be >= 1");
        require(absorbQueue >= 1, "absorbQueue must be >= 1");
        positive(bootstrapBackoffMax, "bootstrapBackoffMax");
        require(!peerQuarantine.isNegative(), "peerQuarantine must be >= 0");
    }

    private static void positive(Duration d, String name) {
        require(d != null && !d.isNegative() && !d.isZero(), name + " must be > 0, got " + d);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults only. */
    public static MetagraphConfig defaults() {
        return builder().build();
    }

    /** A builder preset with this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.port = port;
        b.bindHost = bindHost;
        b.advertiseHost = advertiseHost;
        b.bootstrap = new ArrayList<>(bootstrap);
        b.interval = interval;
        b.requestTimeout = requestTimeout;
        b.peersPerMessage = peersPerMessage;
        b.viewPeersPerMessage = viewPeersPerMessage;
        b.peerTtl = peerTtl;
        b.synapsesPerMessage = synapsesPerMessage;
        b.ttl = ttl;
        b.expiryHorizon = expiryHorizon;
        b.reissueEvery = reissueEvery;
        b.maxExpiryAhead = maxExpiryAhead;
        b.metagraphSize = metagraphSize;
        b.maxPeers = maxPeers;
        b.warmupRounds = warmupRounds;
        b.warmupFanout = warmupFanout;
        b.powDifficulty = powDifficulty;
        b.maxNounce = maxNounce;
        b.acceptUnsigned = acceptUnsigned;
        b.keepRelayedSignatures = keepRelayedSignatures;
        b.maxMessageBytes = maxMessageBytes;
        b.maxFieldBytes = maxFieldBytes;
        b.serverThreads = serverThreads;
        b.serverQueue = serverQueue;
        b.absorbQueue = absorbQueue;
        b.bootstrapBackoffMax = bootstrapBackoffMax;
        b.peerQuarantine = peerQuarantine;
        b.clock = clock;
        b.seed = seed;
        return b;
    }

    /** Gossip server port; 0 picks a free one. Default 8092. */
    public int port() {
        return port;
    }

    /** Address the server binds. Default 0.0.0.0. */
    public String bindHost() {
        return bindHost;
    }

    /** The host we tell peers to reach us at (the original's remote_ip). Default 127.0.0.1. */
    public String advertiseHost() {
        return advertiseHost;
    }

    /** Bootstrap peers "host:port": never dropped, retried with exponential backoff. */
    public List<String> bootstrap() {
        return bootstrap;
    }

    /** Time between gossip rounds. Default 10 s. */
    public Duration interval() {
        return interval;
    }

    /** Deadline of one exchange. Default 0.5 s. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** Most peer addresses in one message, our own included. Default 10. */
    public int peersPerMessage() {
        return peersPerMessage;
    }

    /**
     * Most entries in a message's peer view (the {@code view_peers} field Java peers read), our
     * own address included; also the inbound limit. Default 1000 (the default {@link #maxPeers()}):
     * a whole view fits, so peers spread as fast as synapses. 0 sends no view.
     */
    public int viewPeersPerMessage() {
        return viewPeersPerMessage;
    }

    /**
     * How long a peer stays known without new evidence that it is alive (a successful exchange
     * with it, or a view entry whose age says it was heard more recently). Bootstraps stay.
     * Default: {@link #expiryHorizon()}.
     */
    public Duration peerTtl() {
        return peerTtl;
    }

    /** Most synapses in one message. Default 1000. */
    public int synapsesPerMessage() {
        return synapsesPerMessage;
    }

    /** How long an entry without an owner expiry (a Python peer's) lives after we last receive it. Default 15 s. */
    public Duration ttl() {
        return ttl;
    }

    /**
     * How far ahead we set expires_at_ms on our own entries: how long a dead node's entries may
     * outlive it. Must exceed the time a re-issued entry takes to reach every node (6 rounds
     * measured at N = 64, growing with log N). Default 120 s.
     */
    public Duration expiryHorizon() {
        return expiryHorizon;
    }

    /** How often we re-issue our entries with a later expiry. Default: the interval. */
    public Duration reissueEvery() {
        return reissueEvery;
    }

    /** Entries that claim to live further ahead than this are refused. Default 10 min. */
    public Duration maxExpiryAhead() {
        return maxExpiryAhead;
    }

    /** Most synapse entries kept, local ones included. Default 10000. */
    public int metagraphSize() {
        return metagraphSize;
    }

    /** Most peer addresses kept. Default 1000. */
    public int maxPeers() {
        return maxPeers;
    }

    /**
     * Rounds after start in which we trade with {@link #warmupFanout()} peers instead of one, so a
     * node that just joined catches up in a few rounds. Default 3.
     */
    public int warmupRounds() {
        return warmupRounds;
    }

    /** Exchanges per warm-up round. Default 3. */
    public int warmupFanout() {
        return warmupFanout;
    }

    /** Proof-of-work difficulty we solve for and require of signed entries. Default 2. */
    public int powDifficulty() {
        return powDifficulty;
    }

    /** Largest nounce accepted (hash cost per entry). Default from the difficulty. */
    public int maxNounce() {
        return maxNounce;
    }

    /** Whether entries without any signature (Python peers') are accepted. Default true. */
    public boolean acceptUnsigned() {
        return acceptUnsigned;
    }

    /**
     * Whether a relayed entry that carries an owner expiry also keeps its original-format
     * signature (64 bytes). Default true: original tooling can verify what we relay. False saves
     * a third of the memory per entry; the expiry signature still authenticates every field.
     */
    public boolean keepRelayedSignatures() {
        return keepRelayedSignatures;
    }

    /** Largest gossip message received. Default 4 MiB, as the original's gRPC default. */
    public int maxMessageBytes() {
        return maxMessageBytes;
    }

    /** Largest string field in a received synapse, in UTF-8 bytes. Default 256. */
    public int maxFieldBytes() {
        return maxFieldBytes;
    }

    /** Threads serving Gossip calls. Default 2. */
    public int serverThreads() {
        return serverThreads;
    }

    /**
     * Gossip call tasks queued beyond the busy threads; past it the transport thread runs them,
     * which slows reading new requests. Default 64.
     */
    public int serverQueue() {
        return serverQueue;
    }

    /**
     * Received requests waiting for their entries to be checked; beyond it a request's content
     * is dropped (counted as ABSORB_BUSY: gossip repeats itself). Default 16.
     */
    public int absorbQueue() {
        return absorbQueue;
    }

    /** Longest wait between retries of a bootstrap peer. Default 5 min. */
    public Duration bootstrapBackoffMax() {
        return bootstrapBackoffMax;
    }

    /** How long a dropped peer is ignored when others mention it. Default: the expiry horizon. */
    public Duration peerQuarantine() {
        return peerQuarantine;
    }

    /** Time source for every expiry, TTL and backoff. Default the system UTC clock. */
    public Clock clock() {
        return clock;
    }

    /** Seed of peer choice, sampling and the table hash. */
    public long seed() {
        return seed;
    }

    @Override
    public String toString() {
        return "MetagraphConfig[port=" + port + ", bindHost=" + bindHost + ", advertiseHost="
                + advertiseHost + ", bootstrap=" + bootstrap + ", interval=" + interval
                + ", requestTimeout=" + requestTimeout + ", peersPerMessage=" + peersPerMessage
                + ", viewPeersPerMessage=" + viewPeersPerMessage + ", peerTtl=" + peerTtl
                + ", synapsesPerMessage=" + synapsesPerMessage + ", ttl=" + ttl
                + ", expiryHorizon=" + expiryHorizon + ", reissueEvery=" + reissueEvery
                + ", maxExpiryAhead=" + maxExpiryAhead + ", metagraphSize=" + metagraphSize
                + ", maxPeers=" + maxPeers + ", warmupRounds=" + warmupRounds + ", warmupFanout="
                + warmupFanout + ", powDifficulty=" + powDifficulty + ", maxNounce="
                + maxNounce + ", acceptUnsigned=" + acceptUnsigned + ", keepRelayedSignatures="
                + keepRelayedSignatures + "]";
    }

    /** Builder; every setter validates on {@link #build()}. */
    public static final class Builder {
        private int port = 8092;
        private String bindHost = "0.0.0.0";
        private String advertiseHost = "127.0.0.1";
        private List<String> bootstrap = new ArrayList<>();
        private Duration interval = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofMillis(500);
        private int peersPerMessage = 10;
        private int viewPeersPerMessage = 1000;
        private Duration peerTtl;
        private int synapsesPerMessage = 1000;
        private Duration ttl = Duration.ofSeconds(15);
        private Duration expiryHorizon = Duration.ofSeconds(120);
        private Duration reissueEvery;
        private Duration maxExpiryAhead = Duration.ofMinutes(10);
        private int metagraphSize = 10_000;
        private int maxPeers = 1000;
        private int warmupRounds = 3;
        private int warmupFanout = 3;
        private int powDifficulty = 2;
        private int maxNounce = -1;
        private boolean acceptUnsigned = true;
        private boolean keepRelayedSignatures = true;
        private int maxMessageBytes = 4 * 1024 * 1024;
        private int maxFieldBytes = DEFAULT_MAX_FIELD_BYTES;
        private int serverThreads = 2;
        private int serverQueue = 64;
        private int absorbQueue = 16;
        private Duration bootstrapBackoffMax = Duration.ofMinutes(5);
        private Duration peerQuarantine;
        private Clock clock = Clock.systemUTC();
        private long seed = System.nanoTime();

        private Builder() {
        }

        public Builder port(int v) {
            port = v;
            return this;
        }

        public Builder bindHost(String v) {
            bindHost = Objects.requireNonNull(v, "bindHost");
            return this;
        }

        public Builder advertiseHost(String v) {
            advertiseHost = Objects.requireNonNull(v, "advertiseHost");
            return this;
        }

        /** Adds one bootstrap peer "host:port" (the original's --bootstrap). */
        public Builder bootstrap(String hostPort) {
            bootstrap.add(Objects.requireNonNull(hostPort, "bootstrap"));
            return this;
        }

        public Builder interval(Duration v) {
            interval = v;
            return this;
        }

        public Builder requestTimeout(Duration v) {
            requestTimeout = v;
            return this;
        }

        public Builder peersPerMessage(int v) {
            peersPerMessage = v;
            return this;
        }

        public Builder viewPeersPerMessage(int v) {
            viewPeersPerMessage = v;
            return this;
        }

        public Builder peerTtl(Duration v) {
            peerTtl = v;
            return this;
        }

        public Builder synapsesPerMessage(int v) {
            synapsesPerMessage = v;
            return this;
        }

        public Builder ttl(Duration v) {
            ttl = v;
            return this;
        }

        public Builder expiryHorizon(Duration v) {
            expiryHorizon = v;
            return this;
        }

        public Builder reissueEvery(Duration v) {
            reissueEvery = v;
            return this;
        }

        public Builder maxExpiryAhead(Duration v) {
            maxExpiryAhead = v;
            return this;
        }

        public Builder metagraphSize(int v) {
            metagraphSize = v;
            return this;
        }

        public Builder maxPeers(int v) {
            maxPeers = v;
            return this;
        }

        public Builder warmupRounds(int v) {
            warmupRounds = v;
            return this;
        }

        public Builder warmupFanout(int v) {
            warmupFanout = v;
            return this;
        }

        public Builder powDifficulty(int v) {
            powDifficulty = v;
            return this;
        }

        public Builder maxNounce(int v) {
            maxNounce = v;
            return this;
        }

        public Builder acceptUnsigned(boolean v) {
            acceptUnsigned = v;
            return this;
        }

        public Builder keepRelayedSignatures(boolean v) {
            keepRelayedSignatures = v;
            return this;
        }

        public Builder maxMessageBytes(int v) {
            maxMessageBytes = v;
            return this;
        }

        public Builder maxFieldBytes(int v) {
            maxFieldBytes = v;
            return this;
        }

        public Builder serverThreads(int v) {
            serverThreads = v;
            return this;
        }

        public Builder serverQueue(int v) {
            serverQueue = v;
            return this;
        }

        public Builder absorbQueue(int v) {
            absorbQueue = v;
            return this;
        }

        public Builder bootstrapBackoffMax(Duration v) {
            bootstrapBackoffMax = v;
            return this;
        }

        public Builder peerQuarantine(Duration v) {
            peerQuarantine = v;
            return this;
        }

        public Builder clock(Clock v) {
            clock = Objects.requireNonNull(v, "clock");
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad setting */
        public MetagraphConfig build() {
            return new MetagraphConfig(this);
        }
    }
}
