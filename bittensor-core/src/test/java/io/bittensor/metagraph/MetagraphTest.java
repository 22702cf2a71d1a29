package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.ProofOfWork;
import io.bittensor.crypto.SynapseSigner;
import io.bittensor.proto.Synapse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The local API without any server: subscribe, reads, weights, re-issue. */
class MetagraphTest {

    private final MutableClock clock = new MutableClock(GossipNet.START_MS);

    private Metagraph metagraph() {
        return new Metagraph(GossipNet.testConfig(clock, 3).powDifficulty(2).build(),
                Keypair.generate());
    }

    @Test
    void subscribedEntryIsSignedProvedAndExpiring() {
        try (Metagraph m = metagraph()) {
            Synapse s = m.subscribe(Entries.key(1), "10.0.0.2", 8091);
            assertTrue(SynapseSigner.verify(s), "original-format signature");
            assertTrue(SynapseSigner.verifyExpiry(s));
            assertTrue(ProofOfWork.check(s, 2));
            assertEquals(clock.millis() + m.config().expiryHorizon().toMillis(),
                    s.getExpiresAtMs());
            assertEquals(List.of(s), m.synapses(10));
        }
    }

    @Test
    void localEntryNeverLapsesAndIsReissued() {
        try (Metagraph m = metagraph()) {
            m.subscribe(Entries.key(1), "10.0.0.2", 8091);
            for (int i = 0; i < 50; i++) {
                clock.advance(m.config().interval());
                assertTrue(m.runRound().exchanges().isEmpty(), "no peers");
                Synapse s = m.synapse(Entries.key(1)).orElseThrow();
                assertTrue(s.getExpiresAtMs() > clock.millis(), "expiry kept ahead");
                assertTrue(SynapseSigner.verifyExpiry(s));
            }
            assertTrue(m.unsubscribe(Entries.key(1)));
            assertFalse(m.synapse(Entries.key(1)).isPresent());
            assertFalse(m.unsubscribe(Entries.key(1)));
        }
    }

    @Test
    void subscribeRefusesWhatPeersWouldRefuse() {
        try (Metagraph m = metagraph()) {
            assertThrows(IllegalArgumentException.class, () -> m.subscribe("", "h", 1));
            assertThrows(IllegalArgumentException.class, () -> m.subscribe("k", "h", 65536));
            assertThrows(IllegalArgumentException.class,
                    () -> m.subscribe("k".repeat(257), "h", 1));
            assertEquals(0, m.size());
        }
    }

    @Test
    void weightsDefaultAsTheOriginal() {
        try (Metagraph m = metagraph()) {
            m.subscribe(Entries.key(1), "10.0.0.2", 8091);
            assertEquals(Float.POSITIVE_INFINITY, m.weight(Entries.key(1)));
            assertEquals(0f, m.weight(Entries.key(2)));
            m.setWeight(Entries.key(1), 0.5f);
            assertEquals(0.5f, m.weight(Entries.key(1)));
            List<Synapse> list = m.synapses(10);
            m.setWeights(list, new float[] {0.25f});
            assertEquals(0.25f, m.weights(list)[0]);
            assertThrows(IllegalArgumentException.class, () -> m.setWeights(list, new float[2]));
        }
    }

    @Test
    void configRejectsInconsistentSettings() {
        assertThrows(IllegalArgumentException.class, () -> MetagraphConfig.builder()
                .reissueEvery(Duration.ofSeconds(200)).build());
        assertThrows(IllegalArgumentException.class, () -> MetagraphConfig.builder()
                .bootstrap("no-port").build());
        assertThrows(IllegalArgumentException.class, () -> MetagraphConfig.builder()
                .powDifficulty(65).build());
        MetagraphConfig d = MetagraphConfig.defaults();
        assertEquals(Duration.ofSeconds(10), d.interval());
        assertEquals(Duration.ofMillis(500), d.requestTimeout());
        assertEquals(Duration.ofSeconds(15), d.ttl());
        assertEquals(10, d.peersPerMessage());
        assertEquals(1000, d.synapsesPerMessage());
        assertEquals(10_000, d.metagraphSize());
        assertTrue(d.acceptUnsigned());
        assertEquals(d, d);
        assertEquals(d.toString(), d.toBuilder().build().toString());
    }
}
