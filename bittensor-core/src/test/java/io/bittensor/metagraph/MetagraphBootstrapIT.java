package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.crypto.Keypair;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A bootstrap peer that is down is retried with backoff, and found once it comes up. */
class MetagraphBootstrapIT {

    private final MutableClock clock = new MutableClock(GossipNet.START_MS);
    private Metagraph early;
    private Metagraph late;

    @AfterEach
    void close() {
        if (early != null) {
            early.close();
        }
        if (late != null) {
            late.close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void nodeThatBootedFirstFindsItsBootstrapLater() throws IOException {
        int port = freePort();
        String lateAddress = "127.0.0.1:" + port;
        early = new Metagraph(GossipNet.testConfig(clock, 1).bootstrap(lateAddress)
                .bootstrapBackoffMax(Duration.ofSeconds(80)).build(), Keypair.generate())
                .startServer();
        early.subscribe(Entries.key(1), "127.0.0.1", 9001);

        int downRounds = 20;
        int attempts = 0;
        for (int i = 0; i < downRounds; i++) {
            RoundResult r = early.runRound();
            attempts += r.exchanges().size();
            assertTrue(!r.anyOk(), "nobody is there yet");
            clock.advance(early.config().interval());
        }
        // Backing off: far fewer tries than rounds, and the bootstrap is still known.
        assertTrue(attempts > 1 && attempts <= downRounds / 2, "attempts " + attempts);
        assertTrue(early.peers(10).contains(lateAddress));
        assertTrue(early.bootstrapFailures(lateAddress) == attempts);

        late = new Metagraph(GossipNet.testConfig(clock, 2).port(port).build(),
                Keypair.generate()).startServer();
        late.subscribe(Entries.key(2), "127.0.0.1", 9002);
        // Found within one maximal backoff.
        int maxWait = (int) (early.config().bootstrapBackoffMax().toMillis()
                / early.config().interval().toMillis()) + 1;
        boolean found = false;
        int foundAfter = 0;
        for (int i = 0; i < maxWait && !found; i++) {
            found = early.runRound().anyOk();
            foundAfter = i + 1;
            clock.advance(early.config().interval());
        }
        assertTrue(found, "reached the bootstrap within " + maxWait + " rounds");
        org.slf4j.LoggerFactory.getLogger(MetagraphBootstrapIT.class).info(
                "bootstrap down {} rounds: {} tries; found {} rounds after it started", downRounds,
                attempts, foundAfter);
        assertTrue(early.bootstrapFailures(lateAddress) == 0, "backoff reset");
        assertTrue(early.synapse(Entries.key(2)).isPresent(), "early got late's synapse");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!(late.synapse(Entries.key(1)).isPresent()
                && late.peers(10).contains(early.selfAddress()))) {
            assertTrue(System.nanoTime() < deadline, "late learns early and its synapse");
            Thread.yield();
        }
    }
}
