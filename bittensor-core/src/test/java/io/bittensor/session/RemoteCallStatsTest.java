package io.bittensor.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.dendrite.PeerResult;
import io.bittensor.proto.ReturnCode;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RemoteCallStatsTest {
    private static PeerResult result(String key, ReturnCode code) {
        return new PeerResult(key, code, Duration.ZERO, "");
    }

    @Test
    void countsPerPeerAndKindAndWindows() {
        RemoteCallStats s = new RemoteCallStats();
        assertTrue(Double.isNaN(s.window()));
        s.recordForward(List.of(result("a", ReturnCode.OK), result("b", ReturnCode.TIMEOUT)));
        s.recordBackward(List.of(result("a", ReturnCode.OK)));
        assertEquals(3, s.calls());
        assertEquals(2, s.ok());
        assertEquals(new RemoteCallStats.PeerCounts(1, 1, 1, 1), s.byPeer().get("a"));
        assertEquals(new RemoteCallStats.PeerCounts(0, 1, 0, 0), s.byPeer().get("b"));
        assertEquals(2.0 / 3, s.window(), 1e-12);
        s.recordForward(List.of(result("b", ReturnCode.UNAVAILABLE)));
        assertEquals(0.0, s.window());
        assertTrue(Double.isNaN(s.window()));
    }

    @Test
    void perPeerCountsAreBounded() {
        RemoteCallStats s = new RemoteCallStats();
        for (int i = 0; i <= RemoteCallStats.MAX_PEERS; i++) {
            s.recordForward(List.of(result("k" + i, ReturnCode.OK)));
        }
        assertEquals(RemoteCallStats.MAX_PEERS, s.byPeer().size());
        assertEquals(RemoteCallStats.MAX_PEERS + 1, s.calls());
    }
}
