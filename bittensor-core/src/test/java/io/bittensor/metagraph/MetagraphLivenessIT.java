package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kill 4 of 16: their synapses leave every survivor within the bound (their last re-issue plus
 * the expiry horizon), while the other 12 never leave, over at least 10 TTLs.
 */
class MetagraphLivenessIT {

    private static final Logger LOG = LoggerFactory.getLogger(MetagraphLivenessIT.class);

    @Test
    void deadPeersLeaveWithinTheBoundAndLiveOnesNever() {
        try (GossipNet net = GossipNet.ring(16, 4, b -> b)) {
            for (int round = 0; round < 10 && !net.everyoneHasEverySynapse(); round++) {
                net.round();
            }
            assertTrue(net.everyoneHasEverySynapse(), "full view before the kill");
            net.round();

            Set<String> deadKeys = new HashSet<>();
            for (int i : new int[] {3, 7, 11, 15}) {
                deadKeys.add(net.synapseKeys.get(i));
                net.kill(i);
            }
            Set<String> liveKeys = net.liveKeys();
            assertEquals(12, liveKeys.size());
            long killedAt = net.clock.millis();
            MetagraphConfig cfg = net.nodes.get(0).config();
            // The dead re-issued for the last time in the round before the kill, at or before
            // killedAt - interval; nobody can extend that expiry.
            long bound = killedAt + cfg.expiryHorizon().toMillis();
            long until = Math.max(killedAt + 10 * cfg.ttl().toMillis(),
                    bound + 2 * cfg.interval().toMillis());

            long goneEverywhereAt = -1;
            while (net.clock.millis() <= until) {
                net.round();
                long now = net.clock.millis();
                boolean anyDeadLeft = false;
                for (Metagraph m : net.live()) {
                    Set<String> seen = GossipNet.keysSeenBy(m);
                    assertTrue(seen.containsAll(liveKeys), "a live synapse left " + m.selfAddress()
                            + " at +" + (now - killedAt) + " ms");
                    Set<String> dead = new HashSet<>(seen);
                    dead.retainAll(deadKeys);
                    anyDeadLeft |= !dead.isEmpty();
                    if (now >= bound) {
                        assertTrue(dead.isEmpty(), "dead synapses " + dead + " still at "
                                + m.selfAddress() + " " + (now - killedAt) + " ms after the kill");
                    }
                }
                if (!anyDeadLeft && goneEverywhereAt < 0) {
                    goneEverywhereAt = now;
                }
            }
            LOG.info("dead synapses gone from every survivor {} ms after the kill (bound {} ms)",
                    goneEverywhereAt - killedAt, bound - killedAt);
            for (Metagraph m : net.live()) {
                // Exactly the 4 dead entries lapsed: no live entry lapsed even for a moment.
                assertEquals(4, m.dropped(DropReason.LAPSED), m.selfAddress());
            }
        }
    }
}
