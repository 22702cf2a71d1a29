package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.crypto.Keypair;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The README's two commands in small: the second node bootstraps by 127.0.0.1 while the first
 * advertises another address of itself ("localhost" here, a LAN address in the README). Each node
 * knows the other once.
 */
class MetagraphOnePeerIT {
    private final MutableClock clock = new MutableClock(GossipNet.START_MS);
    private Metagraph first;
    private Metagraph second;

    @AfterEach
    void close() {
        if (second != null) {
            second.close();
        }
        if (first != null) {
            first.close();
        }
    }

    @Test
    void aPeerReachedByTwoAddressesIsKnownOnce() {
        first = new Metagraph(GossipNet.testConfig(clock, 1).advertiseHost("localhost").build(),
                Keypair.generate()).startServer();
        first.subscribe(Entries.key(1), "127.0.0.1", 9001);
        String bootstrap = "127.0.0.1:" + first.port();
        assertEquals("localhost:" + first.port(), first.selfAddress());
        second = new Metagraph(GossipNet.testConfig(clock, 2).bootstrap(bootstrap).build(),
                Keypair.generate()).startServer();
        second.subscribe(Entries.key(2), "127.0.0.1", 9002);

        boolean dialedAdvertised = false;
        for (int round = 0; round < 30; round++) {
            dialedAdvertised |= second.runRound().exchanges().stream()
                    .anyMatch(e -> e.peer().equals(first.selfAddress()));
            first.runRound();
            clock.advance(first.config().interval());
        }
        // The advertised address was learned and tried (so the test covers the case), then folded in.
        assertTrue(dialedAdvertised, "second learned and dialed first's advertised address too");
        assertEquals(1, second.peerCount(), "second knows " + second.peers(10));
        assertEquals(java.util.List.of(bootstrap), second.peers(10), "the bootstrap address is kept");
        assertEquals(1, first.peerCount(), "first knows " + first.peers(10));
        assertTrue(first.synapse(Entries.key(2)).isPresent() && second.synapse(Entries.key(1)).isPresent(),
                "gossip still works both ways");
        for (int round = 0; round < 10; round++) { // and stays folded
            second.runRound();
            first.runRound();
            clock.advance(first.config().interval());
            assertEquals(1, second.peerCount());
            assertEquals(1, first.peerCount());
        }
    }
}
