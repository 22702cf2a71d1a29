package io.bittensor.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PeerLabelsTest {
    private static String key(int i) {
        return String.format("0x%064x", i);
    }

    @Test
    void theFirstPeersGetTheirOwnLabelAndTheRestShareOne() {
        PeerLabels labels = new PeerLabels(2);
        assertEquals(key(1), labels.of(key(1)));
        assertEquals(key(2), labels.of(key(2).toUpperCase().replace("0X", "0x")));
        assertEquals(PeerLabels.OTHER, labels.of(key(3)));
        assertEquals(key(1), labels.of(key(1)), "a labelled peer keeps its label");
        assertEquals(key(2), labels.of(key(2)), "one peer, one label, whatever the hex case");
    }

    @Test
    void anythingButAKeyIsUnknownAndTakesNoSlot() {
        PeerLabels labels = new PeerLabels(1);
        assertEquals(PeerLabels.UNKNOWN, labels.of(""));
        assertEquals(PeerLabels.UNKNOWN, labels.of(null));
        assertEquals(PeerLabels.UNKNOWN, labels.of("0x" + "g".repeat(64)));
        assertEquals(PeerLabels.UNKNOWN, labels.of("x".repeat(10_000)));
        assertEquals(key(9), labels.of(key(9)));
    }
}
