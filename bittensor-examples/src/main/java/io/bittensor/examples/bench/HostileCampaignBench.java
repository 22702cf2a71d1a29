package io.bittensor.examples.bench;

import io.bittensor.examples.hostile.CampaignReport;
import io.bittensor.examples.hostile.HostileCampaign;
import io.bittensor.proto.GossipBatch;
import io.bittensor.proto.MetagraphGrpc;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The hostile-request campaign against a running neuron (docs/reliability.md): every kind of
 * malformed, lying, forged or oversized request to its Axon and Metagraph, a valid call every 50,
 * figures by kind; with {@code --pid} the neuron's resident memory (VmRSS from /proc) is sampled
 * every 5 s and printed as a curve.
 *
 * <pre>
 * java -cp bittensor-examples/target/bittensor-examples.jar io.bittensor.examples.bench.HostileCampaignBench \
 *     --axon 127.0.0.1:8091 --metagraph 127.0.0.1:8092 [--requests 100000] [--pid PID] [--seed 1]
 * </pre>
 * The synapse to call is the one the metagraph advertises on the Axon's port (or {@code --synapse_key}).
 * Exit code 1 when any request went unhandled, a valid call failed or a planted entry came back.
 */
public final class HostileCampaignBench {
    private HostileCampaignBench() {
    }

    public static void main(String[] args) throws Exception {
        String axon = "127.0.0.1:8091";
        String metagraph = "127.0.0.1:8092";
        String synapseKey = null;
        int requests = 100_000;
        long seed = 1;
        long pid = -1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--axon" -> axon = args[i + 1];
                case "--metagraph" -> metagraph = args[i + 1];
                case "--synapse_key" -> synapseKey = args[i + 1];
                case "--requests" -> requests = Integer.parseInt(args[i + 1]);
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                case "--pid" -> pid = Long.parseLong(args[i + 1]);
                default -> {
                    System.err.println("unknown flag " + args[i]);
                    System.exit(2);
                }
            }
        }
        String[] a = axon.split(":");
        String[] m = metagraph.split(":");
        int axonPort = Integer.parseInt(a[1]);
        if (synapseKey == null) {
            synapseKey = discover(m[0], Integer.parseInt(m[1]), axonPort);
        }
        List<String> curve = new ArrayList<>();
        AtomicLong sent = new AtomicLong();
        long t0 = System.nanoTime();
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rss-sampler");
            t.setDaemon(true);
            return t;
        });
        long target = pid;
        if (target > 0) {
            sampler.scheduleAtFixedRate(() -> curve.add(String.format(Locale.ROOT, "| %6.0f | %7d | %7.0f |",
                    (System.nanoTime() - t0) / 1e9, sent.get(), rssMiB(target))), 0, 5, TimeUnit.SECONDS);
        }
        System.out.printf("campaign: %d requests against axon %s, metagraph %s, synapse %s%n",
                requests, axon, metagraph, synapseKey);
        CampaignReport report;
        try {
            report = HostileCampaign.builder().axon(a[0], axonPort).metagraph(m[0], Integer.parseInt(m[1]))
                    .synapseKey(synapseKey).validInput(Modality.IMAGE, 1, 1, 1, 28, 28)
                    .requests(requests).seed(seed).progress(n -> {
                        sent.set(n);
                        if (n % 10_000 == 0) {
                            System.out.printf("  %d sent (%.0f s)%n", n, (System.nanoTime() - t0) / 1e9);
                        }
                    }).build().run();
        } finally {
            sampler.shutdownNow();
            sampler.awaitTermination(5, TimeUnit.SECONDS);
        }
        System.out.println(report.table());
        if (target > 0) {
            System.out.println("| t (s) | sent | RSS MiB |\n|---:|---:|---:|");
            curve.forEach(System.out::println);
            System.out.printf(Locale.ROOT, "final RSS %.0f MiB%n", rssMiB(target));
        }
        boolean ok = report.unhandled() == 0 && report.validCalls() == report.validCallsCorrect()
                && report.plantedServed() == 0;
        System.exit(ok ? 0 : 1);
    }

    /** The synapse the metagraph advertises on the Axon's port. */
    private static String discover(String host, int port, int axonPort) throws InterruptedException {
        ManagedChannel ch = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
        try {
            GossipBatch reply = MetagraphGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .gossip(GossipBatch.getDefaultInstance());
            return reply.getSynapsesList().stream().filter(s -> s.getPort().equals(Integer.toString(axonPort)))
                    .map(Synapse::getSynapseKey).findFirst()
                    .orElseThrow(() -> new IllegalStateException("the metagraph advertises no synapse on port " + axonPort));
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** VmRSS of a process, MiB; NaN once it is gone. */
    static double rssMiB(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
