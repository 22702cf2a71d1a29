package io.bittensor.examples.bench;

import com.sun.management.OperatingSystemMXBean;
import io.bittensor.crypto.Keypair;
import io.bittensor.metagraph.DropReason;
import io.bittensor.metagraph.Metagraph;
import io.bittensor.metagraph.MetagraphConfig;
import io.bittensor.proto.Synapse;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * Gossip at N = 64, 256 and 1000: real {@code Metagraph} instances in one JVM, each a real gRPC
 * server on a loopback socket (Netty, not the in-process transport), one synapse each, bootstrapped
 * in a ring (node i to node i-1), with a hand-moved clock.
 *
 * <p>A round = every live node runs one gossip round in a random order (unsynchronised timers in
 * one interval); each node's round starts once the requests sent before it are absorbed, as they
 * would be within a real 10 s interval. Then the clock moves one interval.
 *
 * <p>Printed per N: rounds until every node holds every synapse and knows every peer; bytes sent
 * per node per round and the largest message, while converging and once converged; process CPU
 * per round (all nodes, all threads); heap per node (after GC, less the heap before the nodes
 * were made); then 10 % of the nodes are closed at once and the rounds are counted until no
 * survivor lists any of them as a peer (a survivor's own bootstrap excepted: bootstraps are kept
 * and retried with back-off by design).
 *
 * <p>Re-issues are pushed out of the run (horizon 10 min, re-issue every 9 min): checking N
 * re-issues a round on each of N nodes is N² signature checks a round, which one JVM on two cores
 * cannot simulate at N = 1000; it does not change how entries spread (MetagraphLivenessIT and
 * {@code MetagraphGossipBench} measure re-issue). Peers keep the default peer TTL of 120 s.
 *
 * <p>Run: {@code java -Xmx6g -cp bittensor-examples/target/bittensor-examples.jar
 * io.bittensor.examples.bench.MetagraphScaleBench [sizes, default 64,256,1000] [steady rounds, 3]}
 */
public final class MetagraphScaleBench {

    private static final int MAX_ROUNDS = 40;

    private MetagraphScaleBench() {
    }

    public static void main(String[] args) {
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(ch.qos.logback.classic.Level.WARN);
        String[] sizes = (args.length > 0 ? args[0] : "64,256,1000").split(",");
        int steady = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        System.out.printf(Locale.ROOT, "load average at start: %.2f%n",
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.out.printf(Locale.ROOT, "%5s %8s %6s %12s %12s %12s %12s %10s %10s %9s %6s%n",
                "N", "synapses", "peers", "KB/node/r", "KB/node/r", "largest KB", "CPU s/round",
                "CPU s/r", "heap/node", "killed", "gone");
        System.out.printf(Locale.ROOT, "%5s %8s %6s %12s %12s %12s %12s %10s %10s %9s %6s%n",
                "", "(rounds)", "", "converging", "converged", "", "converging",
                "converged", "KB", "", "(rnds)");
        for (String s : sizes) {
            run(Integer.parseInt(s.trim()), steady);
        }
        System.out.printf(Locale.ROOT, "load average at end: %.2f%n",
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static MetagraphConfig config(MetagraphGossipBench.HandClock clock, long seed) {
        return MetagraphConfig.builder().port(0).bindHost("127.0.0.1").advertiseHost("127.0.0.1")
                .clock(clock).seed(seed).serverThreads(1)
                // Hundreds of nodes on two shared cores: a slow call must not count as a dead peer.
                .requestTimeout(Duration.ofSeconds(60))
                .expiryHorizon(Duration.ofMinutes(10)).reissueEvery(Duration.ofMinutes(9))
                .peerTtl(Duration.ofSeconds(120))
                .build();
    }

    private static void run(int n, int steadyRounds) {
        MetagraphGossipBench.HandClock clock = new MetagraphGossipBench.HandClock();
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory
                .getOperatingSystemMXBean();
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        System.gc();
        long heapBefore = mem.getHeapMemoryUsage().getUsed();
        List<Metagraph> nodes = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Metagraph m = new Metagraph(config(clock, 7919L * n + i), Keypair.generate())
                        .startServer();
                String key = String.format("0x%064x", i + 1);
                m.subscribe(key, "127.0.0.1", 9000 + (i % 50_000));
                keys.add(key);
                nodes.add(m);
            }
            for (int i = 0; i < n; i++) {
                nodes.get(i).addBootstrap(nodes.get((i + n - 1) % n).selfAddress());
            }
            Random order = new Random(n);
            boolean[] alive = new boolean[n];
            java.util.Arrays.fill(alive, true);
            int synapsesAt = -1;
            int peersAt = -1;
            int round = 0;
            long cpu0 = os.getProcessCpuTime();
            long bytes0 = bytesSent(nodes, alive);
            while (round < MAX_ROUNDS && (synapsesAt < 0 || peersAt < 0)) {
                round(nodes, alive, order, clock);
                round++;
                if (synapsesAt < 0 && everySynapse(nodes, alive, keys)) {
                    synapsesAt = round;
                }
                if (peersAt < 0 && everyPeer(nodes, alive)) {
                    peersAt = round;
                }
                if (VERBOSE) {
                    progress(round, nodes);
                }
            }
            double convergingCpu = (os.getProcessCpuTime() - cpu0) / 1e9 / round;
            double convergingKb = (bytesSent(nodes, alive) - bytes0) / 1024.0 / n / round;

            long cpu1 = os.getProcessCpuTime();
            long bytes1 = bytesSent(nodes, alive);
            for (int r = 0; r < steadyRounds; r++) {
                round(nodes, alive, order, clock);
            }
            double steadyCpu = (os.getProcessCpuTime() - cpu1) / 1e9 / steadyRounds;
            double steadyKb = (bytesSent(nodes, alive) - bytes1) / 1024.0 / n / steadyRounds;
            long largest = 0;
            for (Metagraph m : nodes) {
                largest = Math.max(largest, m.largestMessageSent());
            }
            System.gc();
            double heapPerNode = (mem.getHeapMemoryUsage().getUsed() - heapBefore) / 1024.0 / n;

            // Kill 10 % at once; count rounds until no survivor lists any of them as a peer.
            int kill = Math.max(1, n / 10);
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ids.add(i);
            }
            Collections.shuffle(ids, new Random(n + 1L));
            Set<String> dead = new HashSet<>();
            for (int i : ids.subList(0, kill)) {
                dead.add(nodes.get(i).selfAddress());
                nodes.get(i).close();
                alive[i] = false;
            }
            int goneAt = -1;
            for (int r = 1; r <= MAX_ROUNDS && goneAt < 0; r++) {
                round(nodes, alive, order, clock);
                if (noneKnows(nodes, alive, dead, n)) {
                    goneAt = r;
                }
            }
            System.out.printf(Locale.ROOT, "%5d %8s %6s %12.1f %12.1f %12.1f %12.2f %10.2f %10.1f %9d %6s%n",
                    n, rounds(synapsesAt), rounds(peersAt), convergingKb, steadyKb,
                    largest / 1024.0, convergingCpu, steadyCpu, heapPerNode, kill,
                    rounds(goneAt));
            long lapsedPeers = 0;
            for (int i = 0; i < n; i++) {
                if (alive[i]) {
                    lapsedPeers += nodes.get(i).dropped(DropReason.PEER_LAPSED);
                }
            }
            System.out.printf(Locale.ROOT, "      (peer entries lapsed on survivors: %d; load average %.2f)%n",
                    lapsedPeers, os.getSystemLoadAverage());
        } finally {
            nodes.forEach(Metagraph::close);
        }
    }

    private static final boolean VERBOSE = Boolean.getBoolean("bench.verbose");

    /** One line per round: the fewest synapses and peers any node knows, and the drop counters. */
    private static void progress(int round, List<Metagraph> nodes) {
        int minSynapses = Integer.MAX_VALUE;
        int minPeers = Integer.MAX_VALUE;
        java.util.Map<DropReason, Long> drops = new java.util.EnumMap<>(DropReason.class);
        for (Metagraph m : nodes) {
            minSynapses = Math.min(minSynapses, m.size());
            minPeers = Math.min(minPeers, m.peerCount());
            m.drops().forEach((k, v) -> drops.merge(k, v, Long::sum));
        }
        drops.values().removeIf(v -> v == 0);
        System.out.printf(Locale.ROOT, "  round %d: fewest synapses %d, fewest peers %d, drops %s%n",
                round, minSynapses, minPeers, drops);
    }

    private static String rounds(int r) {
        return r < 0 ? ">" + MAX_ROUNDS : Integer.toString(r);
    }

    private static void round(List<Metagraph> nodes, boolean[] alive, Random order,
            MetagraphGossipBench.HandClock clock) {
        List<Metagraph> live = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (alive[i]) {
                live.add(nodes.get(i));
            }
        }
        Collections.shuffle(live, order);
        for (Metagraph m : live) {
            m.runRound();
            for (Metagraph other : live) {
                other.awaitAbsorbed(Duration.ofMinutes(1));
            }
        }
        clock.ms.addAndGet(nodes.get(0).config().interval().toMillis());
    }

    private static long bytesSent(List<Metagraph> nodes, boolean[] alive) {
        long sum = 0;
        for (int i = 0; i < nodes.size(); i++) {
            if (alive[i]) {
                sum += nodes.get(i).bytesSent();
            }
        }
        return sum;
    }

    private static boolean everySynapse(List<Metagraph> nodes, boolean[] alive, List<String> keys) {
        for (int i = 0; i < nodes.size(); i++) {
            if (!alive[i]) {
                continue;
            }
            Set<String> seen = new HashSet<>();
            for (Synapse x : nodes.get(i).synapses(Integer.MAX_VALUE)) {
                seen.add(x.getSynapseKey());
            }
            if (!seen.containsAll(keys)) {
                return false;
            }
        }
        return true;
    }

    private static boolean everyPeer(List<Metagraph> nodes, boolean[] alive) {
        Set<String> addresses = new HashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (alive[i]) {
                addresses.add(nodes.get(i).selfAddress());
            }
        }
        for (int i = 0; i < nodes.size(); i++) {
            if (!alive[i]) {
                continue;
            }
            Set<String> known = new HashSet<>(nodes.get(i).peers(Integer.MAX_VALUE));
            known.add(nodes.get(i).selfAddress());
            if (!known.containsAll(addresses)) {
                return false;
            }
        }
        return true;
    }

    /** Whether no survivor knows a dead peer, other than its own bootstrap (kept by design). */
    private static boolean noneKnows(List<Metagraph> nodes, boolean[] alive, Set<String> dead,
            int n) {
        for (int i = 0; i < nodes.size(); i++) {
            if (alive[i]) {
                String bootstrap = nodes.get((i + n - 1) % n).selfAddress();
                for (String p : nodes.get(i).peers(Integer.MAX_VALUE)) {
                    if (dead.contains(p) && !p.equals(bootstrap)) {
                        return false;
                    }
                }
            }
        }
        return true;
    }
}
