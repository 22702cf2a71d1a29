package io.bittensor.examples.bench;

import io.bittensor.proto.GossipBatch;
import io.bittensor.proto.MetagraphGrpc;
import io.bittensor.proto.Synapse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Watches what each metagraph holds, for the fault scenarios (scripts/fault-scenarios.sh): every
 * interval it sends each node an empty gossip request (it names no peer and no synapse, so it
 * changes nothing there) and prints one line per node:
 * {@code time_ms host:port ok|down count key8,key8,...} (the first 8 hex digits of each synapse key
 * the node serves back, i.e. its live view).
 *
 * <pre>java -cp bittensor-examples.jar io.bittensor.examples.bench.MetagraphViewProbe SECONDS HOST:PORT...</pre>
 * Runs until killed.
 */
public final class MetagraphViewProbe {
    private MetagraphViewProbe() {
    }

    public static void main(String[] args) throws InterruptedException {
        long intervalMs = (long) (Double.parseDouble(args[0]) * 1000);
        List<String> nodes = List.of(args).subList(1, args.length);
        List<ManagedChannel> channels = new ArrayList<>();
        for (String n : nodes) {
            String[] hp = n.split(":");
            channels.add(NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().build());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> channels.forEach(ManagedChannel::shutdownNow)));
        while (true) {
            long t = System.currentTimeMillis();
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < nodes.size(); i++) {
                out.append(t).append(' ').append(nodes.get(i)).append(' ');
                try {
                    GossipBatch reply = MetagraphGrpc.newBlockingStub(channels.get(i))
                            .withDeadlineAfter(2, TimeUnit.SECONDS).gossip(GossipBatch.getDefaultInstance());
                    List<String> keys = reply.getSynapsesList().stream().map(Synapse::getSynapseKey)
                            .map(k -> k.length() >= 10 ? k.substring(2, 10) : k).sorted().collect(Collectors.toList());
                    out.append("ok ").append(keys.size()).append(' ').append(String.join(",", keys));
                } catch (StatusRuntimeException e) {
                    out.append("down 0 -");
                }
                out.append('\n');
            }
            System.out.print(out);
            System.out.flush();
            Thread.sleep(Math.max(0, intervalMs - (System.currentTimeMillis() - t)));
        }
    }
}
