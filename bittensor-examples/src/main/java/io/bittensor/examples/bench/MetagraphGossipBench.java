package io.bittensor.examples.bench;

import io.bittensor.crypto.Keypair;
import io.bittensor.metagraph.Metagraph;
import io.bittensor.metagraph.MetagraphConfig;
import io.bittensor.proto.Synapse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Gossip figures on loopback with real gRPC servers and a hand-moved clock.
 *
 * <p>Part 1: N nodes bootstrapped in a ring (node i to node i-1), one synapse each. A round =
 * every node runs one gossip round, in a random order (unsynchronised timers within one interval),
 * then the clock moves one interval. Printed: rounds until every node holds every synapse and
 * knows every peer; then, over the following rounds, the oldest owner re-issue any node holds
 * (how far behind the freshest expiry runs: the expiry horizon must exceed it) and whether any
 * live entry ever lapsed. With and without the warm-up fan-out.
 *
 * <p>Part 2: the cost of one exchange carrying 1000 entries: building and parsing the message,
 * and checking 1000 new entries (signature, proof, expiry signature) or 1000 re-issues (expiry
 * signature only).
 *
 * <p>Run: {@code java -cp bittensor-examples/target/bittensor-examples.jar
 * io.bittensor.examples.bench.MetagraphGossipBench [sizes, e.g. 16,64,128] [steady rounds]}
 */
public final class MetagraphGossipBench {

    private static final long START = 1_700_000_000_000L;

    private MetagraphGossipBench() {
    }

    /** A clock the bench moves by hand. */
    static final class HandClock extends Clock {
        final AtomicLong ms = new AtomicLong(START);

        @Override
        public long millis() {
            return ms.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(ms.get());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    public static void main(String[] args) throws Exception {
        // Hundreds of servers starting and stopping: keep their INFO lines out of the table.
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(ch.qos.logback.classic.Level.WARN);
        String[] sizes = (args.length > 0 ? args[0] : "16,64").split(",");
        int steady = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        System.out.println("Ring bootstrap, random firing order per round, defaults otherwise"
                + " (interval 10 s, horizon 120 s, 10 peers / 1000 synapses a message)");
        System.out.printf(Locale.ROOT, "%5s %-9s %10s %8s %10s %12s %8s %10s%n", "N", "warm-up",
                "synapses", "peers", "calls/node", "oldest (r)", "lapsed", "ms/round");
        for (String s : sizes) {
            int n = Integer.parseInt(s.trim());
            ring(n, true, steady);
            ring(n, false, steady);
        }
        System.out.println();
        exchangeCost(1000);
    }

    private static MetagraphConfig.Builder config(HandClock clock, long seed) {
        return MetagraphConfig.builder().port(0).bindHost("127.0.0.1")
                .advertiseHost("127.0.0.1").clock(clock).seed(seed).serverThreads(1)
                .requestTimeout(Duration.ofSeconds(10));
    }

    private static void ring(int n, boolean warmup, int steadyRounds) {
        HandClock clock = new HandClock();
        List<Metagraph> nodes = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        try {
            for (int i = 0; i < n; i++) {
                MetagraphConfig.Builder b = config(clock, 1000L * n + i);
                if (!warmup) {
                    b.warmupRounds(0);
                }
                Metagraph m = new Metagraph(b.build(), Keypair.generate()).startServer();
                String key = String.format("0x%064x", i + 1);
                m.subscribe(key, "127.0.0.1", 9000 + i);
                keys.add(key);
                nodes.add(m);
            }
            for (int i = 0; i < n; i++) {
                nodes.get(i).addBootstrap(nodes.get((i + n - 1) % n).selfAddress());
            }
            Set<String> addresses = new HashSet<>();
            nodes.forEach(m -> addresses.add(m.selfAddress()));
            Random order = new Random(n);
            long interval = nodes.get(0).config().interval().toMillis();
            long horizon = nodes.get(0).config().expiryHorizon().toMillis();
            int synapsesAt = -1;
            int peersAt = -1;
            long calls = 0;
            long callsAtFull = 0;
            long oldest = 0;
            long nanos = 0;
            int rounds = 0;
            int steadyLeft = steadyRounds;
            while (rounds < 200 && (peersAt < 0 || synapsesAt < 0 || steadyLeft > 0)) {
                List<Metagraph> shuffled = new ArrayList<>(nodes);
                Collections.shuffle(shuffled, order);
                long t0 = System.nanoTime();
                for (Metagraph m : shuffled) {
                    calls += m.runRound().exchanges().size();
                }
                nanos += System.nanoTime() - t0;
                clock.ms.addAndGet(interval);
                rounds++;
                boolean allSynapses = true;
                boolean allPeers = true;
                for (Metagraph m : nodes) {
                    Set<String> seen = new HashSet<>();
                    for (Synapse x : m.synapses(Integer.MAX_VALUE)) {
                        seen.add(x.getSynapseKey());
                        if (synapsesAt > 0) {
                            oldest = Math.max(oldest,
                                    clock.millis() - (x.getExpiresAtMs() - horizon));
                        }
                    }
                    allSynapses &= seen.containsAll(keys);
                    Set<String> known = new HashSet<>(m.peers(Integer.MAX_VALUE));
                    known.add(m.selfAddress());
                    allPeers &= known.containsAll(addresses);
                }
                if (synapsesAt < 0 && allSynapses) {
                    synapsesAt = rounds;
                    callsAtFull = calls;
                } else if (synapsesAt > 0) {
                    steadyLeft--;
                }
                if (peersAt < 0 && allPeers) {
                    peersAt = rounds;
                }
            }
            long lapsed = 0;
            for (Metagraph m : nodes) {
                lapsed += m.dropped(io.bittensor.metagraph.DropReason.LAPSED);
            }
            System.out.printf(Locale.ROOT, "%5d %-9s %10s %8s %10.1f %12.1f %8d %10.0f%n", n,
                    warmup ? "3 x 3" : "none", synapsesAt < 0 ? ">200" : synapsesAt,
                    peersAt < 0 ? ">200" : peersAt, callsAtFull / (double) n,
                    oldest / (double) interval, lapsed, nanos / 1e6 / rounds);
        } finally {
            nodes.forEach(Metagraph::close);
        }
    }

    private static void exchangeCost(int entries) throws InterruptedException {
        HandClock clock = new HandClock();
        try (Metagraph server = new Metagraph(config(clock, 1).build(), Keypair.generate())
                .startServer();
                Metagraph client = new Metagraph(config(clock, 2)
                        .bootstrap(server.selfAddress()).warmupRounds(0).build(),
                        Keypair.generate())) {
            long t0 = System.nanoTime();
            Keypair owner = Keypair.generate();
            for (int i = 0; i < entries; i++) {
                client.subscribe(String.format("0x%064x", i + 1), "10.0.0.1", 8091, owner);
            }
            double subscribeMs = (System.nanoTime() - t0) / 1e6 / entries;
            System.out.printf(Locale.ROOT, "One exchange carrying %d entries (difficulty %d):%n",
                    entries, server.config().powDifficulty());
            System.out.printf(Locale.ROOT, "  subscribe (solve, sign, sign expiry): %.2f ms each%n",
                    subscribeMs);
            timeAbsorb("new entries (signature, proof, expiry signature)", client, server,
                    entries);
            clock.ms.addAndGet(client.config().reissueEvery().toMillis());
            timeAbsorb("re-issued entries (expiry signature only; the call includes"
                    + " re-signing the sender's 1000 local expiries)", client, server, entries);
            timeAbsorb("unchanged entries (nothing to check)", client, server, entries);
        }
    }

    private static void timeAbsorb(String what, Metagraph client, Metagraph server, int entries)
            throws InterruptedException {
        long droppedBefore = server.dropped(io.bittensor.metagraph.DropReason.STALE);
        int sizeBefore = server.size();
        long t0 = System.nanoTime();
        if (!client.runRound().anyOk()) {
            throw new IllegalStateException("exchange failed");
        }
        long call = System.nanoTime() - t0;
        // The server absorbs after replying: wait until every entry is accounted for.
        Synapse probe = client.synapses(1).get(0);
        while (true) {
            boolean done = server.size() - sizeBefore == entries
                    || server.dropped(io.bittensor.metagraph.DropReason.STALE) - droppedBefore
                    >= entries
                    || server.synapse(probe.getSynapseKey()).map(s -> s.getExpiresAtMs()
                    == client.synapse(probe.getSynapseKey()).orElseThrow().getExpiresAtMs())
                    .orElse(false) && lastAbsorbed(server, client, entries);
            if (done) {
                break;
            }
            Thread.sleep(1);
        }
        long total = System.nanoTime() - t0;
        System.out.printf(Locale.ROOT, "  %s%n    round %.1f ms, absorbed by the receiver after %.1f ms%n", what,
                call / 1e6, total / 1e6);
    }

    /** Whether the server holds the client's current expiry for every entry. */
    private static boolean lastAbsorbed(Metagraph server, Metagraph client, int entries) {
        for (Synapse s : client.synapses(entries)) {
            if (server.synapse(s.getSynapseKey()).map(x -> x.getExpiresAtMs())
                    .orElse(-1L) != s.getExpiresAtMs()) {
                return false;
            }
        }
        return true;
    }
}
