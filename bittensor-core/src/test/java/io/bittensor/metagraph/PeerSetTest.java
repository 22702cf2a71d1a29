package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PeerSetTest {

    private static final long BASE = 10_000;

    @Test
    void boundedAndNeverSelf() {
        PeerSet p = new PeerSet(3, BASE, 8 * BASE, 0);
        p.setSelf("h:1");
        assertEquals(PeerSet.Added.SELF, p.add("h:1", 0));
        for (int i = 2; i <= 4; i++) {
            assertEquals(PeerSet.Added.ADDED, p.add("h:" + i, 0));
        }
        assertEquals(PeerSet.Added.KNOWN, p.add("h:2", 0));
        assertEquals(PeerSet.Added.FULL, p.add("h:5", 0));
        p.addBootstrap("b:1"); // bootstraps do not count against the bound
        assertEquals(4, p.size());
    }

    @Test
    void failedPeerIsDroppedAndQuarantined() {
        PeerSet p = new PeerSet(10, BASE, 8 * BASE, 1000);
        p.add("a:1", 0);
        p.failed("a:1", 0);
        assertFalse(p.contains("a:1"));
        assertEquals(PeerSet.Added.QUARANTINED, p.add("a:1", 999));
        assertEquals(PeerSet.Added.ADDED, p.add("a:1", 1000));
    }

    @Test
    void bootstrapBacksOffExponentiallyAndResets() {
        PeerSet p = new PeerSet(10, BASE, 4 * BASE, 0);
        p.addBootstrap("b:1");
        Random r = new Random(1);
        long now = 0;
        long[] waits = new long[5];
        for (int i = 0; i < 5; i++) {
            assertEquals("b:1", p.pick(r, now, Set.of()));
            p.failed("b:1", now);
            long t = now + 1;
            while (p.pick(r, t, Set.of()) == null) {
                t += 1000;
            }
            waits[i] = t - now;
            now = t;
        }
        // Waits double from one interval, capped at the maximum; the peer is never dropped.
        assertTrue(waits[1] > waits[0] && waits[2] > waits[1], java.util.Arrays.toString(waits));
        assertTrue(waits[4] <= 4 * BASE + 1000 && waits[3] == waits[4],
                java.util.Arrays.toString(waits));
        assertTrue(p.contains("b:1"));
        assertEquals(5, p.bootstrapFailures("b:1"));
        p.succeeded("b:1", 0);
        assertEquals(0, p.bootstrapFailures("b:1"));
        assertEquals("b:1", p.pick(r, now, Set.of()));
    }

    @Test
    void pickSkipsBackingOffBootstrap() {
        PeerSet p = new PeerSet(10, BASE, 4 * BASE, 0);
        p.addBootstrap("b:1");
        p.add("a:1", 0);
        p.failed("b:1", 0);
        Random r = new Random(2);
        for (int i = 0; i < 50; i++) {
            assertEquals("a:1", p.pick(r, 1, Set.of()));
        }
        p.failed("a:1", 1);
        assertNull(p.pick(r, 2, Set.of()));
    }

    @Test
    void sampleIsDistinctAndExcludes() {
        PeerSet p = new PeerSet(100, BASE, 4 * BASE, 0);
        for (int i = 0; i < 50; i++) {
            p.add("h:" + (i + 1), 0);
        }
        Random r = new Random(3);
        HashSet<String> seen = new HashSet<>();
        for (int round = 0; round < 100; round++) {
            List<String> s = p.sample(9, "h:1", r);
            assertEquals(9, s.size());
            assertEquals(9, new HashSet<>(s).size());
            assertFalse(s.contains("h:1"));
            seen.addAll(s);
        }
        assertEquals(49, seen.size(), "every other peer gets sampled");
    }

    @Test
    void parsesPeerAddresses() {
        assertEquals(new PeerAddress("127.0.0.1", 8092), PeerAddress.parse("127.0.0.1:8092"));
        assertEquals(new PeerAddress("::1", 1), PeerAddress.parse("[::1]:1"));
        for (String bad : new String[] {"", "host", ":1", "h:", "h:0", "h:65536", "h:1x",
            "a b:1", "::1:5", "h:123456"}) {
            assertNull(PeerAddress.parse(bad), bad);
        }
    }
}
