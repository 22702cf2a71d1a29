package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.crypto.Keypair;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The background loop on the real clock: two started nodes find each other's synapse. */
class MetagraphLoopIT {

    private static MetagraphConfig.Builder fast(long seed) {
        return MetagraphConfig.builder().port(0).bindHost("127.0.0.1").advertiseHost("127.0.0.1")
                .clock(Clock.systemUTC()).seed(seed).powDifficulty(1)
                .interval(Duration.ofMillis(100)).expiryHorizon(Duration.ofSeconds(10))
                .requestTimeout(Duration.ofSeconds(5));
    }

    @Test
    void startedNodesGossipOnTheirOwn() throws InterruptedException {
        try (Metagraph a = new Metagraph(fast(1).build(), Keypair.generate()).start()) {
            a.subscribe(Entries.key(1), "127.0.0.1", 9001);
            try (Metagraph b = new Metagraph(fast(2).bootstrap(a.selfAddress()).build(),
                    Keypair.generate()).start()) {
                b.subscribe(Entries.key(2), "127.0.0.1", 9002);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!(a.synapse(Entries.key(2)).isPresent()
                        && b.synapse(Entries.key(1)).isPresent()
                        && a.peers(10).contains(b.selfAddress()))) {
                    assertTrue(System.nanoTime() < deadline, "the loops exchanged entries");
                    Thread.sleep(20); // polling the loop's progress, with a deadline
                }
            }
        }
    }
}
