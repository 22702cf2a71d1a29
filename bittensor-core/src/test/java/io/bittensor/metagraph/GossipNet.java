package io.bittensor.metagraph;

import io.bittensor.crypto.Keypair;
import io.bittensor.proto.Synapse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * N metagraphs on loopback, one synapse each, sharing a hand-moved clock. A round = every live
 * node runs one gossip round, in a random order (as unsynchronised timers would fire within one
 * interval; each waits for the previous one's requests to be absorbed), then the clock moves one
 * interval.
 */
final class GossipNet implements AutoCloseable {

    static final long START_MS = 1_700_000_000_000L;

    final MutableClock clock = new MutableClock(START_MS);
    final List<Metagraph> nodes = new ArrayList<>();
    final List<String> synapseKeys = new ArrayList<>();
    final List<Boolean> alive = new ArrayList<>();
    private final Random order;

    private GossipNet(long seed) {
        order = new Random(seed);
    }

    /** Test settings: loopback, the shared clock, a cheap proof of work, a lenient timeout. */
    static MetagraphConfig.Builder testConfig(MutableClock clock, long seed) {
        return MetagraphConfig.builder().port(0).bindHost("127.0.0.1").advertiseHost("127.0.0.1")
                .clock(clock).seed(seed).powDifficulty(1).serverThreads(1)
                // Two shared cores: a loaded JVM must not turn slow calls into dropped peers.
                .requestTimeout(java.time.Duration.ofSeconds(10));
    }

    /** Node i bootstraps to node i-1 (node 0 to node n-1). */
    static GossipNet ring(int n, long seed, UnaryOperator<MetagraphConfig.Builder> tweak) {
        GossipNet net = new GossipNet(seed);
        try {
            for (int i = 0; i < n; i++) {
                net.add(tweak.apply(testConfig(net.clock, seed * 1000 + i)).build());
            }
            for (int i = 0; i < n; i++) {
                net.nodes.get(i).addBootstrap(net.nodes.get((i + n - 1) % n).selfAddress());
            }
            return net;
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    Metagraph add(MetagraphConfig config) {
        Metagraph m = new Metagraph(config, Keypair.generate()).startServer();
        nodes.add(m);
        alive.add(true);
        String key = String.format("0x%064x", nodes.size());
        m.subscribe(key, "127.0.0.1", 9000 + nodes.size());
        synapseKeys.add(key);
        return m;
    }

    long intervalMs() {
        return nodes.get(0).config().interval().toMillis();
    }

    void round() {
        List<Metagraph> live = live();
        Collections.shuffle(live, order);
        for (Metagraph m : live) {
            m.runRound();
            // Timers an interval apart: whoever m called has absorbed m's request before the next
            // node's round, however loaded this machine is.
            for (Metagraph other : live) {
                other.awaitAbsorbed(java.time.Duration.ofSeconds(30));
            }
        }
        clock.advance(nodes.get(0).config().interval());
    }

    List<Metagraph> live() {
        List<Metagraph> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (alive.get(i)) {
                out.add(nodes.get(i));
            }
        }
        return out;
    }

    void kill(int i) {
        nodes.get(i).close();
        alive.set(i, false);
    }

    Set<String> liveKeys() {
        Set<String> s = new HashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (alive.get(i)) {
                s.add(synapseKeys.get(i));
            }
        }
        return s;
    }

    static Set<String> keysSeenBy(Metagraph m) {
        Set<String> s = new HashSet<>();
        for (Synapse x : m.synapses(Integer.MAX_VALUE)) {
            s.add(x.getSynapseKey());
        }
        return s;
    }

    boolean everyoneHasEverySynapse() {
        Set<String> want = liveKeys();
        for (Metagraph m : live()) {
            if (!keysSeenBy(m).containsAll(want)) {
                return false;
            }
        }
        return true;
    }

    boolean everyoneKnowsEveryPeer() {
        Set<String> addresses = new HashSet<>();
        for (Metagraph m : live()) {
            addresses.add(m.selfAddress());
        }
        for (Metagraph m : live()) {
            Set<String> known = new HashSet<>(m.peers(Integer.MAX_VALUE));
            known.add(m.selfAddress());
            if (!known.containsAll(addresses)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        for (int i = 0; i < nodes.size(); i++) {
            if (alive.get(i)) {
                nodes.get(i).close();
            }
        }
    }
}
