package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ring-bootstrapped networks on loopback reach full view: every node holds every synapse and
 * knows every peer. Rounds are driven by hand (see {@link GossipNet}).
 */
class MetagraphRingIT {

    private static final Logger LOG = LoggerFactory.getLogger(MetagraphRingIT.class);

    /** Rounds until every node holds every synapse, and until every node knows every peer. */
    private static int[] roundsToFullView(int n, long seed, int maxRounds,
            UnaryOperator<MetagraphConfig.Builder> tweak) {
        try (GossipNet net = GossipNet.ring(n, seed, tweak)) {
            int synapses = -1;
            int peers = -1;
            for (int round = 1; round <= maxRounds && (synapses < 0 || peers < 0); round++) {
                net.round();
                if (synapses < 0 && net.everyoneHasEverySynapse()) {
                    synapses = round;
                }
                if (peers < 0 && net.everyoneKnowsEveryPeer()) {
                    peers = round;
                }
            }
            LOG.info("N={}: rounds to full view: synapses {}, peers {}", n, synapses, peers);
            return new int[] {synapses, peers};
        }
    }

    @Test
    void sixteenNodesReachFullView() {
        int[] r = roundsToFullView(16, 16, 30, b -> b);
        assertTrue(r[0] > 0 && r[0] <= 4, "every synapse everywhere within 4 rounds: " + r[0]);
        assertTrue(r[1] > 0 && r[1] <= 4, "every peer everywhere within 4 rounds: " + r[1]);
    }

    @Test
    void sixtyFourNodesReachFullView() {
        // Re-issues cost every node a signature check per entry and do not change how entries
        // spread; with a 10-minute horizon none falls due within the test (MetagraphLivenessIT
        // covers re-issue).
        int[] r = roundsToFullView(64, 64, 20, b -> b.expiryHorizon(Duration.ofMinutes(10))
                .reissueEvery(Duration.ofMinutes(9)));
        assertTrue(r[0] > 0 && r[0] <= 4, "every synapse everywhere within 4 rounds: " + r[0]);
        assertTrue(r[1] > 0 && r[1] <= 6, "every peer everywhere within 6 rounds: " + r[1]);
    }

    @Test
    void withoutViewsPeersSpreadOnlyTenAtATime() {
        // The original's 10 addresses a message, as a Python-only network would gossip them: the
        // view field is what makes the difference at N = 64.
        int[] r = roundsToFullView(64, 65, 6, b -> b.viewPeersPerMessage(0)
                .expiryHorizon(Duration.ofMinutes(10)).reissueEvery(Duration.ofMinutes(9)));
        assertTrue(r[1] < 0, "without views, peers took only " + r[1] + " rounds");
    }
}
