package io.bittensor.metagraph;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.ProofOfWork;
import io.bittensor.crypto.SynapseSigner;
import io.bittensor.proto.GossipBatch;
import io.bittensor.proto.MetagraphGrpc;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.ServedInput;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.SynapseOrBuilder;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.bittensor.transport.GrpcTransportLog;
import io.bittensor.transport.MalformedRequestGuard;
import io.bittensor.transport.NettyTransport;
import io.bittensor.transport.PeerErrorLog;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Peer discovery by gossip: a gRPC {@code Metagraph/Gossip} server plus a loop that, every
 * interval, trades known peers and synapse entries with one random known peer.
 *
 * <p>Differences from the original (docs/metagraph.md has the full rules):
 * <ul>
 *   <li>Every message carries our own address and a random sample of the peer set, so every node
 *       comes to know every live peer, not just the same first ten.
 *   <li>Liveness is set by owners: our entries carry an expiry signed by their neuron key, re-issued
 *       every {@code reissueEvery} with expiry now + {@code expiryHorizon}. Receivers drop an entry
 *       when its expiry passes, whoever relays it. Entries without an owner expiry (Python peers')
 *       live {@code ttl} after we last receive them and are never relayed by us, so we never keep a
 *       ghost alive.
 *   <li>Entries are checked on absorb (signatures, expiry signature, proof of work, key ownership),
 *       messages over the limits are refused whole, and the table and peer set are bounded.
 * </ul>
 *
 * <p>{@link #start()} serves and runs the loop; {@link #startServer()} serves only, and a test or
 * simulation drives the rounds with {@link #runRound()}.
 */
public final class Metagraph implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Metagraph.class);
    private static final Duration CONNECTION_IDLE = Duration.ofMinutes(5);
    private static final Duration CONNECTION_AGE = Duration.ofMinutes(30);
    private static final Duration CONNECTION_AGE_GRACE = Duration.ofSeconds(10);
    /** Peers' bad gossip: counted, one line per kind per minute, never a trace. */
    private final PeerErrorLog peerErrors =
            new PeerErrorLog(LoggerFactory.getLogger("io.bittensor.metagraph.PeerErrors"));
    private static final int MAX_SIG = SynapseRecord.SIG_BYTES;
    private static final int POW_BYTES = 32;

    private record LocalEntry(Synapse base, Keypair owner, long issuedAtMs) {
    }

    /** A received entry past the cheap checks, with what we held for its key at the time. */
    private record Candidate(Synapse s, byte[] record, byte[] existing) {
    }

    private final MetagraphConfig config;
    private final Keypair keypair;
    private final Clock clock;
    private final Random random;
    private final PeerSet peers;
    private final AtomicLongArray counters = new AtomicLongArray(DropReason.values().length);
    private final ReentrantLock roundLock = new ReentrantLock();
    // Guarded by roundLock.
    private int roundsRun;

    private final Object tableLock = new Object();
    // Guarded by tableLock.
    private final SynapseTable table;
    private final Map<String, LocalEntry> locals = new LinkedHashMap<>();

    private final Map<String, Float> weights = new ConcurrentHashMap<>();

    private Server server;
    private ThreadPoolExecutor serverExecutor;
    private ThreadPoolExecutor absorbExecutor;
    // Our own event loops: gRPC's shared ones outlive a server that failed to bind.
    private NettyTransport boss;
    private NettyTransport io;
    private ScheduledExecutorService loop;
    // Serialized bytes of every request and reply we sent, and the largest one.
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong largestSent = new AtomicLong();
    // Requests received and not yet absorbed (queued or running).
    private final AtomicInteger absorbing = new AtomicInteger();
    private volatile String selfAddress;
    private volatile boolean closed;

    /**
     * A metagraph that signs its local entries with {@code keypair}. Nothing runs until
     * {@link #start()} or {@link #startServer()}.
     */
    public Metagraph(MetagraphConfig config, Keypair keypair) {
        this.config = config;
        this.keypair = keypair;
        this.clock = config.clock();
        this.random = new Random(config.seed());
        this.table = new SynapseTable(random.nextLong());
        this.peers = new PeerSet(config.maxPeers(), config.interval().toMillis(),
                config.bootstrapBackoffMax().toMillis(), config.peerQuarantine().toMillis(),
                config.peerTtl().toMillis());
        peers.setSelfKey(keypair.publicKeyHex());
        for (String b : config.bootstrap()) {
            peers.addBootstrap(b);
        }
    }

    // ================================================================ lifecycle

    /**
     * Binds the gossip server (port 0 picks a free one) without starting the loop.
     *
     * @throws MetagraphException if the port cannot be bound
     */
    public synchronized Metagraph startServer() {
        if (closed) {
            throw new IllegalStateException("metagraph is closed");
        }
        if (server != null) {
            return this;
        }
        // Bounded threads and queue. Past the queue the transport thread runs the task itself:
        // that slows reading further requests (back-pressure) where a rejection would leave gRPC
        // with a half-started call (grpc-java #636).
        serverExecutor = new ThreadPoolExecutor(config.serverThreads(), config.serverThreads(), 0,
                TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(config.serverQueue()),
                daemonThreads("metagraph-server"), new ThreadPoolExecutor.CallerRunsPolicy());
        // Checking a request's signatures can take a second (1000 entries); it runs here, one
        // request at a time, so the server threads stay free to answer within callers' deadlines.
        absorbExecutor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(config.absorbQueue()), daemonThreads("metagraph-absorb"),
                (task, pool) -> {
                    count(DropReason.ABSORB_BUSY);
                    absorbing.decrementAndGet();
                });
        GrpcTransportLog.install(); // oversized requests: counted, not a trace each
        boss = new NettyTransport(1, "metagraph-accept");
        io = new NettyTransport(1, "metagraph-io");
        try {
            server = NettyServerBuilder
                    .forAddress(new InetSocketAddress(config.bindHost(), config.port()))
                    .bossEventLoopGroup(boss.group())
                    .workerEventLoopGroup(io.group())
                    .channelType(NettyTransport.serverChannelType())
                    .executor(serverExecutor)
                    .maxInboundMessageSize(config.maxMessageBytes())
                    // One gossip call at a time is all an honest peer needs per connection.
                    .maxConcurrentCallsPerConnection(4)
                    // Bounded connection lifetimes, as the Axon's: honest peers gossip every few
                    // seconds, so only a stalled or forgotten connection reaches these.
                    .maxConnectionIdle(CONNECTION_IDLE.toMillis(), TimeUnit.MILLISECONDS)
                    .maxConnectionAge(CONNECTION_AGE.toMillis(), TimeUnit.MILLISECONDS)
                    .maxConnectionAgeGrace(CONNECTION_AGE_GRACE.toMillis(), TimeUnit.MILLISECONDS)
                    // Bytes that are not a GossipBatch: INVALID_ARGUMENT, not UNKNOWN.
                    .addService(MalformedRequestGuard.guard(
                            ServerInterceptors.intercept(new GossipService(), new CallerAddress()),
                            peerErrors))
                    .build()
                    .start();
        } catch (IOException e) {
            serverExecutor.shutdownNow();
            absorbExecutor.shutdownNow();
            io.close();
            boss.close();
            server = null;
            throw new MetagraphException("cannot bind the gossip server on " + config.bindHost()
                    + ":" + config.port(), e);
        }
        selfAddress = config.advertiseHost() + ":" + server.getPort();
        peers.setSelf(selfAddress);
        LOG.info("metagraph serving gossip on {} (advertised as {})", server.getListenSockets(),
                selfAddress);
        return this;
    }

    /** Serves and runs the gossip loop every interval. */
    public synchronized Metagraph start() {
        startServer();
        if (loop == null) {
            loop = Executors.newSingleThreadScheduledExecutor(daemonThreads("metagraph-loop"));
            long interval = config.interval().toMillis();
            // A random first delay spreads the rounds of nodes started together.
            long first = Math.floorMod(random.nextLong(), Math.min(interval, 1000L)) + 1;
            loop.scheduleWithFixedDelay(this::loopRound, first, interval, TimeUnit.MILLISECONDS);
        }
        return this;
    }

    private void loopRound() {
        try {
            runRound();
        } catch (RuntimeException e) {
            LOG.warn("gossip round failed", e);
        }
    }

    /** Stops the loop and the server. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (loop != null) {
            loop.shutdownNow();
            awaitQuietly(loop);
        }
        if (server != null) {
            server.shutdown();
            try {
                if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
                    server.shutdownNow();
                }
            } catch (InterruptedException e) {
                server.shutdownNow();
                Thread.currentThread().interrupt();
            }
            serverExecutor.shutdownNow();
            absorbExecutor.shutdownNow();
            awaitQuietly(serverExecutor);
            awaitQuietly(absorbExecutor);
            io.close();
            boss.close();
        }
    }

    private static void awaitQuietly(java.util.concurrent.ExecutorService e) {
        try {
            e.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until every request received so far has been absorbed (or dropped as
     * {@code ABSORB_BUSY}). For simulations that drive rounds by hand with a moved clock: a real
     * interval (seconds) is far longer than an absorb, so a round should start on absorbed state.
     *
     * @return false if {@code timeout} passed first
     */
    public boolean awaitAbsorbed(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (absorbing.get() > 0) {
            if (System.nanoTime() - end > 0) {
                return false;
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** The bound gossip port. */
    public int port() {
        Server s = server;
        if (s == null) {
            throw new IllegalStateException("server not started");
        }
        return s.getPort();
    }

    /** "advertiseHost:port", what we tell peers; null before the server starts. */
    public String selfAddress() {
        return selfAddress;
    }

    public MetagraphConfig config() {
        return config;
    }

    // ================================================================ peers

    /**
     * Adds a bootstrap peer "host:port": never dropped, retried with exponential backoff.
     *
     * @throws IllegalArgumentException if it is not host:port
     */
    public void addBootstrap(String hostPort) {
        if (PeerAddress.parse(hostPort) == null) {
            throw new IllegalArgumentException("bootstrap must be host:port, got " + hostPort);
        }
        peers.addBootstrap(hostPort);
    }

    /** Up to {@code n} known peers "host:port" (never ourselves). */
    public List<String> peers(int n) {
        return peers.list(n);
    }

    public int peerCount() {
        return peers.size();
    }

    /** Consecutive failed exchanges with a bootstrap peer (0 for others or after a success). */
    public int bootstrapFailures(String hostPort) {
        return peers.bootstrapFailures(hostPort);
    }

    // ================================================================ local entries

    /** Publishes a local synapse owned by this metagraph's key. */
    public Synapse subscribe(String synapseKey, String address, int port) {
        return subscribe(synapseKey, address, port, keypair);
    }

    /**
     * Publishes a local synapse: proof of work solved at the configured difficulty, signed by
     * {@code owner} (original format), and given an owner expiry that we keep re-issuing while we
     * run, so it never lapses here nor, while we live, anywhere else. Weight +inf unless set.
     *
     * @return the entry as first published
     * @throws IllegalArgumentException on an empty key, a key or address over maxFieldBytes, or a
     *     port outside [0, 65535]
     */
    public Synapse subscribe(String synapseKey, String address, int port, Keypair owner) {
        return subscribe(synapseKey, address, port, owner, List.of());
    }

    /** Publishes a local synapse owned by this metagraph's key, saying what it serves. */
    public Synapse subscribe(String synapseKey, String address, int port, List<ServedInput> serves) {
        return subscribe(synapseKey, address, port, keypair, serves);
    }

    /**
     * As {@link #subscribe(String, String, int, Keypair)}, with what the synapse serves (field 28,
     * covered by the expiry signature; empty = not said).
     *
     * @throws IllegalArgumentException also if {@code serves} is over {@link ServedInputs}' limits
     */
    public Synapse subscribe(String synapseKey, String address, int port, Keypair owner,
            List<ServedInput> serves) {
        String bad = ServedInputs.problem(serves);
        if (bad != null) {
            throw new IllegalArgumentException("serves: " + bad);
        }
        if (synapseKey == null || synapseKey.isEmpty()) {
            throw new IllegalArgumentException("synapseKey must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        }
        int max = config.maxFieldBytes();
        if (ByteString.copyFromUtf8(synapseKey).size() > max
                || ByteString.copyFromUtf8(address).size() > max) {
            // Peers would refuse every message carrying it, and so drop us.
            throw new IllegalArgumentException("synapseKey and address must fit in " + max
                    + " bytes (maxFieldBytes)");
        }
        Synapse base = Synapse.newBuilder().setVersion(SynapseRecord.DEFAULT_VERSION)
                .setNeuronKey(owner.publicKeyHex()).setSynapseKey(synapseKey)
                .setAddress(address).setPort(Integer.toString(port)).addAllServes(serves).build();
        base = SynapseSigner.sign(ProofOfWork.solve(base, config.powDifficulty()), owner);
        long now = clock.millis();
        LocalEntry e = new LocalEntry(base, owner, now);
        byte[] record = issue(e, now);
        synchronized (tableLock) {
            locals.put(synapseKey, e);
            table.put(record);
        }
        return SynapseRecord.decode(record);
    }

    /** Stops publishing a local synapse; other nodes drop it when its last expiry passes. */
    public boolean unsubscribe(String synapseKey) {
        synchronized (tableLock) {
            if (locals.remove(synapseKey) == null) {
                return false;
            }
            table.remove(SynapseRecord.keyField(ByteString.copyFromUtf8(synapseKey)));
        }
        weights.remove(synapseKey);
        return true;
    }

    /** The local entry with a fresh expiry, signed, as a record (no lock: signing takes time). */
    private byte[] issue(LocalEntry e, long now) {
        long expiry = now + config.expiryHorizon().toMillis();
        Synapse s = SynapseSigner.withExpiry(e.base(), expiry, e.owner());
        int flags = SynapseRecord.FLAG_LOCAL | SynapseRecord.FLAG_SIG | SynapseRecord.FLAG_EXPIRY
                | (s.getProofOfWork().isEmpty() ? 0 : SynapseRecord.FLAG_POW);
        return SynapseRecord.encode(s, flags, expiry);
    }

    private void reissueDue(long now) {
        long every = config.reissueEvery().toMillis();
        List<LocalEntry> due = new ArrayList<>();
        synchronized (tableLock) {
            for (LocalEntry e : locals.values()) {
                if (now - e.issuedAtMs() >= every) {
                    due.add(e);
                }
            }
        }
        for (LocalEntry e : due) {
            byte[] record = issue(e, now);
            String key = e.base().getSynapseKey();
            synchronized (tableLock) {
                // Unless unsubscribed or subscribed anew meanwhile.
                if (locals.get(key) == e) {
                    locals.put(key, new LocalEntry(e.base(), e.owner(), now));
                    table.put(record);
                }
            }
        }
    }

    // ================================================================ reads and weights

    /** Up to 1000 live entries, local ones first. */
    public List<Synapse> synapses() {
        return synapses(1000);
    }

    /** Up to {@code n} live entries (expiry or TTL not passed), local ones first. */
    public List<Synapse> synapses(int n) {
        long now = clock.millis();
        List<byte[]> records;
        synchronized (tableLock) {
            records = table.window(0, n, SynapseRecord::isLocal);
            records.addAll(table.window(0, n - records.size(),
                    r -> !SynapseRecord.isLocal(r) && SynapseRecord.deadline(r) > now));
        }
        List<Synapse> out = new ArrayList<>(records.size());
        for (byte[] r : records) {
            out.add(SynapseRecord.decode(r));
        }
        return out;
    }

    /** The live entry for {@code synapseKey}, if held. */
    public Optional<Synapse> synapse(String synapseKey) {
        long now = clock.millis();
        byte[] r;
        synchronized (tableLock) {
            r = table.get(SynapseRecord.keyField(ByteString.copyFromUtf8(synapseKey)));
        }
        if (r == null || (!SynapseRecord.isLocal(r) && SynapseRecord.deadline(r) <= now)) {
            return Optional.empty();
        }
        return Optional.of(SynapseRecord.decode(r));
    }

    /** Entries held, local ones included (some may have lapsed since the last round). */
    public int size() {
        synchronized (tableLock) {
            return table.size();
        }
    }

    /** The weight of a synapse: as set, else +inf for a local one, else 0 (as the original). */
    public float weight(String synapseKey) {
        Float w = weights.get(synapseKey);
        if (w != null) {
            return w;
        }
        synchronized (tableLock) {
            return locals.containsKey(synapseKey) ? Float.POSITIVE_INFINITY : 0f;
        }
    }

    /** Sets a synapse's weight; forgotten when the entry leaves the table. */
    public void setWeight(String synapseKey, float weight) {
        weights.put(synapseKey, weight);
    }

    /** The original's getweights: one weight per synapse, 0 for unknown ones. */
    public float[] weights(List<? extends SynapseOrBuilder> synapses) {
        float[] out = new float[synapses.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = weight(synapses.get(i).getSynapseKey());
        }
        return out;
    }

    /** The original's setweights. */
    public void setWeights(List<? extends SynapseOrBuilder> synapses, float[] values) {
        if (values.length != synapses.size()) {
            throw new IllegalArgumentException(values.length + " weights for " + synapses.size()
                    + " synapses");
        }
        for (int i = 0; i < values.length; i++) {
            setWeight(synapses.get(i).getSynapseKey(), values[i]);
        }
    }

    /** How many times {@code reason} happened. */
    public long dropped(DropReason reason) {
        return counters.get(reason.ordinal());
    }

    /** Gossip refused because of the sender's input, by kind (malformed bytes, over limits). */
    public Map<String, Long> peerErrors() {
        return peerErrors.counts();
    }

    /** Every counter. */
    public Map<DropReason, Long> drops() {
        Map<DropReason, Long> m = new EnumMap<>(DropReason.class);
        for (DropReason r : DropReason.values()) {
            m.put(r, counters.get(r.ordinal()));
        }
        return m;
    }

    /** Serialized bytes of every gossip request and reply sent so far. */
    public long bytesSent() {
        return bytesSent.get();
    }

    /** The largest gossip message (request or reply) sent so far, in bytes. */
    public long largestMessageSent() {
        return largestSent.get();
    }

    private void sent(GossipBatch message) {
        int size = message.getSerializedSize(); // computed once, kept by the message
        bytesSent.addAndGet(size);
        largestSent.accumulateAndGet(size, Math::max);
    }

    private void count(DropReason r) {
        counters.incrementAndGet(r.ordinal());
    }

    // ================================================================ rounds

    /**
     * One gossip round: re-issue local entries that are due, drop lapsed entries, then trade with
     * one random eligible peer (with up to {@code warmupFanout} distinct ones during the first
     * {@code warmupRounds} rounds) and absorb each reply. Rounds never overlap.
     */
    public RoundResult runRound() {
        roundLock.lock();
        try {
            long now = clock.millis();
            reissueDue(now);
            purgeLapsed(now);
            for (int i = peers.expire(now); i > 0; i--) {
                count(DropReason.PEER_LAPSED);
            }
            int fanout = roundsRun < config.warmupRounds() ? config.warmupFanout() : 1;
            roundsRun++;
            List<RoundResult.Exchange> done = new ArrayList<>(fanout);
            Set<String> tried = new HashSet<>();
            for (int i = 0; i < fanout; i++) {
                String peer = peers.pick(random, now, tried);
                if (peer == null) {
                    break;
                }
                tried.add(peer);
                done.add(exchange(peer, now));
            }
            return new RoundResult(done);
        } finally {
            roundLock.unlock();
        }
    }

    private RoundResult.Exchange exchange(String peer, long now) {
        ByteString challenge = GossipIdentity.challenge();
        GossipBatch request = outgoing(now, peer).toBuilder().setIdentityChallenge(challenge).build();
        sent(request);
        GossipBatch reply;
        try {
            reply = call(peer, request);
        } catch (StatusRuntimeException e) {
            LOG.debug("gossip with {} failed: {}", peer, e.getStatus());
            peers.failed(peer, now);
            return new RoundResult.Exchange(peer, RoundResult.Outcome.FAILED, 0, 0);
        }
        String over = overLimits(reply);
        if (over != null) {
            count(DropReason.MESSAGE_OVER_LIMITS);
            peerErrors.record("gossip reply over limits", peer + ": " + over);
            peers.failed(peer, now);
            return new RoundResult.Exchange(peer, RoundResult.Outcome.REFUSED, 0, 0);
        }
        peers.succeeded(peer, now);
        String identity = GossipIdentity.proven(challenge, reply);
        if (identity != null && peers.identify(peer, identity) != PeerSet.Identified.BOUND) {
            LOG.debug("gossip peer {} is {}, already known at another address", peer, identity);
        }
        int taken = absorb(reply, now);
        return new RoundResult.Exchange(peer, RoundResult.Outcome.OK, reply.getSynapsesCount(),
                taken);
    }

    private GossipBatch call(String peer, GossipBatch request) {
        PeerAddress a = PeerAddress.parse(peer);
        String host = a.host();
        if (host.equals(config.advertiseHost()) && wildcardBind()) {
            host = "127.0.0.1"; // ourselves behind NAT, as the original does with remote_ip
        }
        ManagedChannel channel = NettyChannelBuilder.forAddress(host, a.port()).usePlaintext()
                .maxInboundMessageSize(config.maxMessageBytes()).build();
        try {
            return MetagraphGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .gossip(request);
        } finally {
            // Graceful: the call is over, and an abrupt close only makes the peer log broken pipes.
            channel.shutdown();
        }
    }

    private boolean wildcardBind() {
        return config.bindHost().equals("0.0.0.0") || config.bindHost().equals("::");
    }

    /**
     * What we send (request or reply): our address and a random sample of other peers (for
     * Python peers), our peer view with ages (for Java peers), then our local entries and a random
     * window of relayable entries (those with a live owner expiry).
     */
    private GossipBatch outgoing(long now, String exclude) {
        GossipBatch.Builder b = GossipBatch.newBuilder();
        String self = selfAddress;
        int room = config.peersPerMessage();
        if (self != null) {
            b.addPeers(self);
            room--;
        }
        b.addAllPeers(peers.sample(room, exclude, random));
        int view = config.viewPeersPerMessage();
        if (view > 0 && self != null) {
            b.addViewPeers(self).addViewAgesMs(0);
            for (PeerSet.Aged p : peers.view(view - 1, exclude, random, now)) {
                b.addViewPeers(p.address()).addViewAgesMs((int) Math.min(p.ageMs(), 0xFFFF_FFFFL));
            }
        }
        int max = config.synapsesPerMessage();
        List<byte[]> records;
        synchronized (tableLock) {
            records = table.window(0, max, SynapseRecord::isLocal);
            records.addAll(table.window(random.nextInt(table.capacity()), max - records.size(),
                    r -> !SynapseRecord.isLocal(r) && SynapseRecord.hasExpiry(r)
                            && SynapseRecord.deadline(r) > now));
        }
        for (byte[] r : records) {
            b.addSynapses(SynapseRecord.decode(r));
        }
        return b.build();
    }

    private void purgeLapsed(long now) {
        synchronized (tableLock) {
            table.removeIf(r -> !SynapseRecord.isLocal(r) && SynapseRecord.deadline(r) <= now,
                    r -> {
                        count(DropReason.LAPSED);
                        weights.remove(SynapseRecord.synapseKey(r));
                    });
        }
    }

    // ================================================================ absorbing

    /** Why a message must be refused whole, or null. Nothing in it is used when refused. */
    private String overLimits(GossipBatch b) {
        if (b.getPeersCount() > config.peersPerMessage()) {
            return b.getPeersCount() + " peers > " + config.peersPerMessage();
        }
        if (b.getViewPeersCount() > config.viewPeersPerMessage()) {
            return b.getViewPeersCount() + " view peers > " + config.viewPeersPerMessage();
        }
        if (b.getViewAgesMsCount() != b.getViewPeersCount()) {
            return b.getViewAgesMsCount() + " view ages for " + b.getViewPeersCount() + " view peers";
        }
        for (String p : b.getViewPeersList()) {
            if (p.length() > MetagraphConfig.MAX_PEER_CHARS) {
                return "a view peer string of " + p.length() + " chars";
            }
        }
        if (b.getSynapsesCount() > config.synapsesPerMessage()) {
            return b.getSynapsesCount() + " synapses > " + config.synapsesPerMessage();
        }
        for (String p : b.getPeersList()) {
            if (p.length() > MetagraphConfig.MAX_PEER_CHARS) {
                return "a peer string of " + p.length() + " chars";
            }
        }
        int f = config.maxFieldBytes();
        for (Synapse s : b.getSynapsesList()) {
            if (s.getVersionBytes().size() > f || s.getNeuronKeyBytes().size() > f
                    || s.getSynapseKeyBytes().size() > f || s.getAddressBytes().size() > f
                    || s.getPortBytes().size() > f || s.getBlockHashBytes().size() > f) {
                return "a synapse string field over " + f + " bytes";
            }
            if (s.getSignature().size() > MAX_SIG || s.getExpirySignature().size() > MAX_SIG
                    || s.getProofOfWork().size() > POW_BYTES) {
                return "an oversize signature or proof of work";
            }
            if (s.getNounce() < 0 || s.getNounce() > config.maxNounce()) {
                return "nounce " + s.getNounce() + " outside [0, " + config.maxNounce() + "]";
            }
            if (s.getExpiresAtMs() < 0) {
                return "a negative expires_at_ms";
            }
            String serves = ServedInputs.problem(s.getServesList());
            if (serves != null) {
                return serves;
            }
        }
        return null;
    }

    /**
     * Takes in a message within the limits: its peers, then its entries in three steps: cheap
     * checks and lookups under the lock, signature and proof checks outside it, then the
     * replacement rules and the size bound under the lock again.
     *
     * @return how many entries were stored (new or newer)
     */
    private int absorb(GossipBatch b, long now) {
        absorbPeers(b, now);
        List<Candidate> candidates = new ArrayList<>();
        synchronized (tableLock) {
            for (Synapse s : b.getSynapsesList()) {
                DropReason pre = precheck(s, now);
                if (pre != null) {
                    count(pre);
                    continue;
                }
                byte[] rec = encodeReceived(s, now);
                byte[] existing = table.get(SynapseRecord.keyField(s.getSynapseKeyBytes()));
                DropReason early = existing == null ? null : earlyVerdict(existing, rec);
                if (early != null) {
                    count(early);
                    continue;
                }
                candidates.add(new Candidate(s, rec, existing));
            }
        }
        List<byte[]> verified = new ArrayList<>(candidates.size());
        for (Candidate c : candidates) {
            DropReason bad = verify(c);
            if (bad != null) {
                count(bad);
            } else {
                verified.add(c.record());
            }
        }
        int taken = 0;
        synchronized (tableLock) {
            for (byte[] rec : verified) {
                byte[] existing = table.get(Arrays.copyOfRange(rec, SynapseRecord.KEY_OFFSET,
                        SynapseRecord.keyEnd(rec)));
                DropReason no = existing == null ? null : replaceVerdict(existing, rec);
                if (no != null) {
                    count(no);
                } else {
                    table.put(rec);
                    taken++;
                }
            }
            enforceSize();
        }
        return taken;
    }

    /**
     * A Java peer's view (ages given) is evidence of life and replaces its {@code peers} list,
     * which is a subset of it. A Python peer's {@code peers} carry no age: new addresses are
     * taken as heard now, known ones are not refreshed by a mere mention.
     */
    private void absorbPeers(GossipBatch b, long now) {
        boolean hasView = b.getViewPeersCount() > 0;
        int n = hasView ? b.getViewPeersCount() : b.getPeersCount();
        for (int i = 0; i < n; i++) {
            String p = hasView ? b.getViewPeers(i) : b.getPeers(i);
            if (PeerAddress.parse(p) == null) {
                count(DropReason.BAD_PEER_ADDRESS);
                continue;
            }
            // uint32 on the wire: read as unsigned.
            PeerSet.Added added = hasView
                    ? peers.heard(p, now - Integer.toUnsignedLong(b.getViewAgesMs(i)), now)
                    : peers.add(p, now);
            if (added == PeerSet.Added.FULL) {
                count(DropReason.PEERS_FULL);
            }
        }
    }

    /** Cheap checks on one entry; a reason to drop it, or null. */
    private DropReason precheck(Synapse s, long now) {
        if (s.getSynapseKeyBytes().isEmpty()) {
            return DropReason.MALFORMED;
        }
        boolean hasExpiry = s.getExpiresAtMs() != 0 || !s.getExpirySignature().isEmpty();
        if (!hasExpiry && s.getServesCount() > 0) {
            return DropReason.MALFORMED; // what it serves is only believed under the expiry signature
        }
        if (hasExpiry) {
            if (s.getExpiresAtMs() == 0 || s.getExpirySignature().size() != MAX_SIG) {
                return DropReason.BAD_EXPIRY_SIGNATURE;
            }
            if (s.getExpiresAtMs() <= now) {
                return DropReason.EXPIRED;
            }
            if (s.getExpiresAtMs() - now > config.maxExpiryAhead().toMillis()) {
                return DropReason.EXPIRY_TOO_FAR;
            }
        }
        if (!s.getSignature().isEmpty() && s.getSignature().size() != MAX_SIG) {
            return DropReason.BAD_SIGNATURE;
        }
        if (!hasExpiry && s.getSignature().isEmpty() && !config.acceptUnsigned()) {
            return DropReason.UNSIGNED;
        }
        return null;
    }

    /**
     * The record we would store: an owner expiry becomes the deadline; an entry without one gets
     * now + ttl. The original signature of a relayed expiring entry is dropped only when so
     * configured. A present proof of work is marked for recomputation (verify() clears the mark
     * if it is not the real one).
     */
    private byte[] encodeReceived(Synapse s, long now) {
        boolean hasExpiry = s.getExpiresAtMs() != 0;
        boolean keepSig = !s.getSignature().isEmpty()
                && (config.keepRelayedSignatures() || !hasExpiry);
        int flags = (keepSig ? SynapseRecord.FLAG_SIG : 0)
                | (hasExpiry ? SynapseRecord.FLAG_EXPIRY : 0)
                | (s.getProofOfWork().isEmpty() ? 0 : SynapseRecord.FLAG_POW);
        long deadline = hasExpiry ? s.getExpiresAtMs() : now + config.ttl().toMillis();
        return SynapseRecord.encode(s, flags, deadline);
    }

    /** Drops decidable before any signature check: our own keys, and no newer expiry. */
    private static DropReason earlyVerdict(byte[] existing, byte[] rec) {
        boolean same = SynapseRecord.sameNeuronKey(existing, rec);
        if (SynapseRecord.isLocal(existing)) {
            return same ? DropReason.STALE : DropReason.KEY_MISMATCH;
        }
        if (same && SynapseRecord.hasExpiry(existing) && SynapseRecord.hasExpiry(rec)
                && SynapseRecord.deadline(rec) <= SynapseRecord.deadline(existing)) {
            return DropReason.STALE;
        }
        return null;
    }

    /**
     * Signature, proof-of-work and expiry-signature checks. An entry equal to a verified one we
     * hold except for a later expiry needs only its expiry signature checked.
     */
    private DropReason verify(Candidate c) {
        Synapse s = c.s();
        boolean known = c.existing() != null && SynapseRecord.isAuthenticated(c.existing())
                && SynapseRecord.sameIdentity(c.existing(), c.record());
        if (!known) {
            boolean hasSig = !s.getSignature().isEmpty();
            boolean hasExpiry = s.getExpiresAtMs() != 0;
            boolean hasPow = !s.getProofOfWork().isEmpty();
            int difficulty = config.powDifficulty();
            if (difficulty > 0 && (hasSig || hasExpiry || hasPow)
                    && !ProofOfWork.check(s, difficulty)) {
                return DropReason.LOW_PROOF_OF_WORK;
            }
            if (hasPow && difficulty == 0 && !Arrays.equals(ProofOfWork.proofFor(s),
                    s.getProofOfWork().toByteArray())) {
                c.record()[0] &= (byte) ~SynapseRecord.FLAG_POW; // not the real proof: do not relay one
            }
            if (hasSig && !SynapseSigner.verify(s)) {
                return DropReason.BAD_SIGNATURE;
            }
        }
        if (s.getExpiresAtMs() != 0 && !SynapseSigner.verifyExpiry(s)) {
            return DropReason.BAD_EXPIRY_SIGNATURE;
        }
        return null;
    }

    /**
     * Whether a verified entry may replace the one held: never a local one; a signed entry only
     * by the same neuron key; never by an unsigned copy; an expiring entry only by a later expiry.
     * An unsigned entry (anyone may have made it) gives way to a signed one.
     */
    private static DropReason replaceVerdict(byte[] existing, byte[] rec) {
        boolean same = SynapseRecord.sameNeuronKey(existing, rec);
        if (SynapseRecord.isLocal(existing)) {
            return same ? DropReason.STALE : DropReason.KEY_MISMATCH;
        }
        boolean authExisting = SynapseRecord.isAuthenticated(existing);
        boolean authNew = SynapseRecord.isAuthenticated(rec);
        if (!same && (authExisting || !authNew)) {
            return DropReason.KEY_MISMATCH;
        }
        if (authExisting && !authNew) {
            return DropReason.STALE;
        }
        if (SynapseRecord.hasExpiry(existing) && (!SynapseRecord.hasExpiry(rec)
                || SynapseRecord.deadline(rec) <= SynapseRecord.deadline(existing))) {
            return DropReason.STALE;
        }
        return null;
    }

    /** Keeps at most metagraphSize entries by evicting the soonest to lapse (never a local one). */
    private void enforceSize() {
        int over = table.size() - config.metagraphSize();
        if (over <= 0) {
            return;
        }
        for (byte[] r : table.stalest(over)) {
            table.remove(Arrays.copyOfRange(r, SynapseRecord.KEY_OFFSET, SynapseRecord.keyEnd(r)));
            weights.remove(SynapseRecord.synapseKey(r));
            count(DropReason.EVICTED);
        }
    }

    // ================================================================ server

    private final class GossipService extends MetagraphGrpc.MetagraphImplBase {
        @Override
        public void gossip(GossipBatch request, StreamObserver<GossipBatch> responses) {
            long now = clock.millis();
            String over = overLimits(request);
            if (over != null) {
                count(DropReason.MESSAGE_OVER_LIMITS);
                peerErrors.record("gossip request over limits", over);
                responses.onError(Status.INVALID_ARGUMENT
                        .withDescription("gossip refused: " + over).asRuntimeException());
                return;
            }
            // As the original: the reply is what we knew before taking the request in. Replying
            // first keeps signature checks out of the caller's deadline.
            GossipBatch reply = GossipIdentity.answer(
                    withEchoes(outgoing(now, null), request, CALLER_IP.get()), request, keypair);
            sent(reply);
            responses.onNext(reply);
            responses.onCompleted();
            absorbing.incrementAndGet();
            absorbExecutor.execute(() -> {
                try {
                    absorb(request, now);
                } catch (RuntimeException e) {
                    LOG.warn("absorbing a gossip request failed", e);
                } finally {
                    absorbing.decrementAndGet();
                }
            });
        }
    }

    private static final Context.Key<String> CALLER_IP = Context.key("gossip-caller-ip");

    /** Puts the caller's IP address (as text) into the call's context for the gossip handler. */
    private static final class CallerAddress implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                ServerCallHandler<Q, R> next) {
            java.net.SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
            String ip = remote instanceof InetSocketAddress isa && isa.getAddress() != null
                    ? isa.getAddress().getHostAddress() : null;
            return Contexts.interceptCall(Context.current().withValue(CALLER_IP, ip), call, headers, next);
        }
    }

    /**
     * Echoes back the caller's own entries that carry no owner expiry (a Python peer's), i.e.
     * those whose address is the caller's IP. The original peer drops even its own synapse 15 s
     * after it last heard it from someone else, and we never relay expiry-less entries (they
     * would keep ghosts alive): without this echo a Python peer whose neighbours are all Java
     * nodes would stop advertising itself. Echoing a caller only what it already holds about
     * itself keeps no one else's entry alive.
     */
    private GossipBatch withEchoes(GossipBatch reply, GossipBatch request, String callerIp) {
        if (callerIp == null) {
            return reply;
        }
        int room = config.synapsesPerMessage() - reply.getSynapsesCount();
        GossipBatch.Builder b = null;
        for (Synapse s : request.getSynapsesList()) {
            if (room == 0) {
                break;
            }
            if (s.getExpiresAtMs() == 0 && callerIp.equals(s.getAddress())) {
                if (b == null) {
                    b = reply.toBuilder();
                }
                b.addSynapses(s);
                room--;
            }
        }
        return b == null ? reply : b.build();
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
