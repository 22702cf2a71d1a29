package io.bittensor.metagraph;

import io.bittensor.crypto.Keypair;
import io.bittensor.proto.Synapse;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One metagraph node as its own process, for {@link NetworkNamespaceFaultIT}: it runs inside a
 * network namespace (started through {@code ip netns exec}), gossips on fast timers, and prints its
 * view on stdout every 200 ms as {@code VIEW peers=a:p,b:p synapses=key,key}.
 *
 * <p>Arguments: advertised address, gossip port, synapse key, then bootstrap host:port if any.
 */
public final class GossipNodeMain {
    private GossipNodeMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        MetagraphConfig config = MetagraphConfig.builder()
                .port(Integer.parseInt(args[1])).bindHost("0.0.0.0").advertiseHost(args[0])
                // Fast timers so a CI test sees expiry and healing in seconds, in the same ratios
                // as the defaults (request timeout < interval < peer TTL, expiry horizon).
                .interval(Duration.ofMillis(500)).requestTimeout(Duration.ofMillis(400))
                .peerTtl(Duration.ofSeconds(4)).ttl(Duration.ofSeconds(4))
                .expiryHorizon(Duration.ofSeconds(4)).reissueEvery(Duration.ofSeconds(1))
                .bootstrapBackoffMax(Duration.ofSeconds(1))
                .build();
        Metagraph m = new Metagraph(config, Keypair.generate());
        if (args.length > 3) {
            m.addBootstrap(args[3]);
        }
        m.start();
        m.subscribe(args[2], args[0], 9000);
        Runtime.getRuntime().addShutdownHook(new Thread(m::close));
        while (true) {
            List<String> keys = m.synapses().stream().map(Synapse::getSynapseKey).sorted().toList();
            String peers = m.peers(1000).stream().sorted().collect(Collectors.joining(","));
            System.out.println("VIEW peers=" + peers + " synapses=" + String.join(",", keys));
            System.out.flush();
            Thread.sleep(200);
        }
    }
}
