package io.bittensor.examples.bench;

import com.google.protobuf.ByteString;
import io.bittensor.metagraph.SynapseTable;
import io.bittensor.proto.Synapse;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Heap bytes per synapse entry at a million entries: the metagraph's compact table (with and
 * without the relayed original signature) against a map of proto objects, which is what the
 * original keeps (a dict of Synapse messages plus a heartbeat per key).
 *
 * <p>Entries look like ours on the wire: 0x-hex neuron and synapse keys, an IPv4 address, a port,
 * version 0.0.0, a small nounce, a 32-byte proof, a 64-byte signature, an expiry and its 64-byte
 * signature (random bytes: memory does not depend on their validity).
 *
 * <p>Run: {@code java -Xmx4g -cp bittensor-examples/target/bittensor-examples.jar
 * io.bittensor.examples.bench.MetagraphMemoryBench [entries]}
 */
public final class MetagraphMemoryBench {

    private MetagraphMemoryBench() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        System.out.printf(Locale.ROOT, "Heap per synapse entry, %,d entries (JVM %s, max heap %d MiB)%n",
                n, System.getProperty("java.version"), Runtime.getRuntime().maxMemory() >> 20);
        System.out.printf(Locale.ROOT, "%-46s %14s %12s%n", "store", "heap MiB", "B / entry");
        row("SynapseTable, both signatures (default)", n, () -> fillTable(n, true));
        row("SynapseTable, keepRelayedSignatures=false", n, () -> fillTable(n, false));
        row("HashMap<String, Synapse> + heartbeat map", n, () -> fillProtoMap(n));
    }

    private interface Filler {
        Object fill();
    }

    private static void row(String name, int n, Filler filler) {
        long before = usedAfterGc();
        Object kept = filler.fill();
        long after = usedAfterGc();
        double perEntry = (after - before) / (double) n;
        System.out.printf(Locale.ROOT, "%-46s %14.1f %12.1f%n", name, (after - before) / 1048576.0,
                perEntry);
        // Keep the store reachable until measured.
        if (kept.hashCode() == 42) {
            System.out.print("");
        }
    }

    private static Object fillTable(int n, boolean keepSignature) {
        SynapseTable table = new SynapseTable(1);
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            Synapse s = entry(r, keepSignature);
            table.putUnchecked(s, s.getExpiresAtMs(), true);
        }
        if (table.size() != n) {
            throw new IllegalStateException("expected " + n + " entries, got " + table.size());
        }
        return table;
    }

    private static Object fillProtoMap(int n) {
        Map<String, Synapse> synapses = new HashMap<>();
        Map<String, Long> heartbeat = new HashMap<>();
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            Synapse s = entry(r, true);
            // As parsed off the wire: the proto keeps its strings and byte strings.
            String key = s.getSynapseKey();
            synapses.put(key, s);
            heartbeat.put(key, s.getExpiresAtMs());
        }
        return new Object[] {synapses, heartbeat};
    }

    private static Synapse entry(SplittableRandom r, boolean signature) {
        Synapse.Builder b = Synapse.newBuilder().setVersion("0.0.0")
                .setNeuronKey("0x" + HexFormat.of().formatHex(bytes(r, 32)))
                .setSynapseKey("0x" + HexFormat.of().formatHex(bytes(r, 32)))
                .setAddress(r.nextInt(1, 224) + "." + r.nextInt(256) + "." + r.nextInt(256) + "."
                        + r.nextInt(1, 255))
                .setPort(Integer.toString(r.nextInt(1024, 65536)))
                .setNounce(r.nextInt(1024))
                .setProofOfWork(ByteString.copyFrom(bytes(r, 32)))
                .setExpiresAtMs(1_700_000_000_000L + r.nextInt(120_000))
                .setExpirySignature(ByteString.copyFrom(bytes(r, 64)));
        if (signature) {
            b.setSignature(ByteString.copyFrom(bytes(r, 64)));
        }
        return b.build();
    }

    private static byte[] bytes(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static long usedAfterGc() {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            try {
                Thread.sleep(100); // let the collector finish; this is a bench, not a test
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }
}
