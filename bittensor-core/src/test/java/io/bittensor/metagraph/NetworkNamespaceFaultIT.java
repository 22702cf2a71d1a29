package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CI-sized subset of scripts/fault-scenarios.sh: three metagraph processes, each in its own
 * Linux network namespace with its own address on a bridge, gossip on fast timers
 * ({@link GossipNodeMain}); node 3 is cut off from the others (silent drops, nftables), then the
 * network heals. Checks that the cut-off node leaves the others' views and theirs leave its view
 * within the bound (peer TTL / expiry horizon 4 s, plus two rounds, plus 5 s of scheduling slack), and that every view is full
 * again soon after the heal. Skipped, saying why, where namespaces or nftables are unavailable
 * (not root, no iproute2, no nft, a sandbox without netns).
 */
class NetworkNamespaceFaultIT {
    private static final Logger LOG = LoggerFactory.getLogger(NetworkNamespaceFaultIT.class);
    private static final int N = 3;
    private static final int PORT = 9402;
    private static final long BOUND_MS = 4_000 + 2 * 500; // TTL / horizon + two rounds
    /** Scheduling delays of a busy CI machine (five JVMs on two cores). */
    private static final long SLACK_MS = 5_000;

    /** Short unique names: interface names are limited to 15 characters. */
    private final String tag = "bc" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
    private final String net = "10.78." + ThreadLocalRandom.current().nextInt(1, 250);
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> nodes = new ArrayList<>();
    private final List<AtomicReference<View>> views = new ArrayList<>();

    record View(Set<String> peers, Set<String> synapses) {
        static View parse(String line) {
            String[] parts = line.split(" ");
            return new View(set(parts[1].substring("peers=".length())),
                    set(parts[2].substring("synapses=".length())));
        }

        private static Set<String> set(String csv) {
            return csv.isEmpty() ? Set.of() : new HashSet<>(Arrays.asList(csv.split(",")));
        }
    }

    @Test
    void aCutOffNodeLeavesEveryViewAndComesBackAfterTheHeal() throws Exception {
        assumeNamespaces();
        buildNetwork();
        List<String> keys = new ArrayList<>();
        for (int i = 1; i <= N; i++) {
            keys.add(String.format("0x%064x", i));
            startNode(i, keys.get(i - 1));
        }
        Set<String> all = new HashSet<>(keys);

        long t0 = System.currentTimeMillis();
        for (int i = 1; i <= N; i++) {
            int node = i;
            // Three JVMs starting: generous on a loaded machine; not the figure under test.
            await("node " + i + " full view", 90_000, v -> v.synapses().equals(all) && v.peers().size() == N - 1, node);
        }
        LOG.info("full views after {} ms", System.currentTimeMillis() - t0);

        // Cut node 3 off: each side silently drops what arrives from the other.
        String addr3 = net + ".3";
        nft(3, "ip saddr { " + net + ".1, " + net + ".2 } drop");
        nft(1, "ip saddr " + addr3 + " drop");
        nft(2, "ip saddr " + addr3 + " drop");
        long cut = System.currentTimeMillis();
        for (int i = 1; i <= 2; i++) {
            await("node 3 gone from node " + i, BOUND_MS + SLACK_MS,
                    v -> !v.synapses().contains(keys.get(2)) && !v.peers().contains(addr3 + ":" + PORT), i);
        }
        // Node 3 keeps retrying its bootstrap (node 1) by design, but no entry of the others lives on.
        await("the others gone from node 3", BOUND_MS + SLACK_MS, v -> v.synapses().equals(Set.of(keys.get(2))), 3);
        long gone = System.currentTimeMillis() - cut;
        assertTrue(gone <= BOUND_MS + SLACK_MS, "left the views " + gone + " ms after the cut");
        LOG.info("cut-off node left every view {} ms after the cut (bound {} ms)", gone, BOUND_MS);

        for (int i = 1; i <= N; i++) {
            sh("ip", "netns", "exec", namespaces.get(i), "nft", "delete", "table", "inet", tag);
        }
        long heal = System.currentTimeMillis();
        for (int i = 1; i <= N; i++) {
            await("node " + i + " full view after the heal", 20_000,
                    v -> v.synapses().equals(all) && v.peers().size() == N - 1, i);
        }
        LOG.info("every view full again {} ms after the heal ({} rounds of 500 ms)",
                System.currentTimeMillis() - heal, (System.currentTimeMillis() - heal + 499) / 500);
    }

    private void assumeNamespaces() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "network fault test skipped: needs root (ip netns)");
        assumeTrue(onPath("ip") && onPath("nft"), "network fault test skipped: needs iproute2 (ip) and nftables (nft)");
        String probe = tag + "-p";
        boolean ok = sh("ip", "netns", "add", probe) == 0;
        sh("ip", "netns", "del", probe);
        assumeTrue(ok, "network fault test skipped: 'ip netns add' is not permitted here");
    }

    private static boolean onPath(String cmd) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, cmd))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", cmd)) || Files.isExecutable(Path.of("/sbin", cmd));
    }

    private void buildNetwork() throws Exception {
        String hub = tag + "-hub";
        addNamespace(hub);
        run("ip", "-n", hub, "link", "set", "lo", "up");
        run("ip", "-n", hub, "link", "add", tag + "br", "type", "bridge");
        run("ip", "-n", hub, "link", "set", tag + "br", "up");
        for (int i = 1; i <= N; i++) {
            String ns = tag + "-n" + i;
            addNamespace(ns);
            run("ip", "link", "add", tag + "a" + i, "type", "veth", "peer", "name", tag + "b" + i);
            run("ip", "link", "set", tag + "a" + i, "netns", ns);
            run("ip", "link", "set", tag + "b" + i, "netns", hub);
            run("ip", "-n", ns, "addr", "add", net + "." + i + "/24", "dev", tag + "a" + i);
            run("ip", "-n", ns, "link", "set", "lo", "up");
            run("ip", "-n", ns, "link", "set", tag + "a" + i, "up");
            run("ip", "-n", hub, "link", "set", tag + "b" + i, "master", tag + "br", "up");
        }
    }

    private void addNamespace(String ns) throws Exception {
        run("ip", "netns", "add", ns);
        namespaces.add(ns);
    }

    private void startNode(int i, String key) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespaces.get(i), java,
                "-Xmx96m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                GossipNodeMain.class.getName(), net + "." + i, Integer.toString(PORT), key));
        if (i > 1) {
            cmd.add(net + ".1:" + PORT);
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        nodes.add(p);
        AtomicReference<View> view = new AtomicReference<>(new View(Set.of(), Set.of()));
        views.add(view);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith("VIEW ")) {
                        view.set(View.parse(line));
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "view-reader-" + i);
        reader.setDaemon(true);
        reader.start();
    }

    private void await(String what, long timeoutMs, Predicate<View> done, int node) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (!done.test(views.get(node - 1).get())) {
            assertTrue(nodes.get(node - 1).isAlive(), "node " + node + " died");
            assertTrue(System.currentTimeMillis() < end, what + " within " + timeoutMs + " ms; view: "
                    + views.get(node - 1).get());
            Thread.sleep(100);
        }
    }

    /** A silent input drop in node i's namespace, in table inet {tag}. */
    private void nft(int i, String rule) throws Exception {
        String ns = namespaces.get(i);
        sh("ip", "netns", "exec", ns, "nft", "add", "table", "inet", tag);
        run("ip", "netns", "exec", ns, "nft", "add chain inet " + tag + " in { type filter hook input priority 0 ; }");
        run("ip", "netns", "exec", ns, "nft", "add rule inet " + tag + " in " + rule);
    }

    private static void run(String... cmd) throws Exception {
        int rc = sh(cmd);
        if (rc != 0) {
            throw new IllegalStateException("failed (" + rc + "): " + String.join(" ", cmd));
        }
    }

    private static int sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : nodes) {
            p.destroyForcibly();
        }
        for (Process p : nodes) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
        for (String ns : namespaces) {
            sh("ip", "netns", "del", ns); // deleting a namespace deletes its veth ends and bridge
        }
    }
}
