package io.bittensor.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** {@link Keypair#synapseKey(String)}: the original's key format, stable per (neuron key, name). */
class SynapseKeyDerivationTest {
    /** RFC 8032 TEST 1's seed. */
    private static final Keypair KEY = Keypair.fromSeed(
            HexFormat.of().parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));

    /**
     * Expected keys computed independently, with Python's hmac and cryptography:
     * Ed25519PrivateKey.from_private_bytes(hmac.new(seed, label + name, sha256).digest()).
     */
    @Test
    void matchesAnIndependentImplementation() {
        assertEquals("0xcca78ac6625ab92875268e7d01809817520d98db5766c1005ef5441fb08d7563", KEY.synapseKey("mnist"));
        assertEquals("0x27ba0e730dbcef0f300bb121b8cadb15a517eb7e51433aadbdfde35e1b8ff7b9", KEY.synapseKey("cifar"));
    }

    @Test
    void theOriginalsFormatAndAValidKey() {
        String k = Keypair.generate().synapseKey("mnist");
        assertTrue(k.matches("0x[0-9a-f]{64}"), k);
        assertEquals(32, Ed25519.parseKeyHex(k).length);
    }

    @Test
    void stableForTheSameSeedAndDistinctOtherwise() {
        Keypair again = Keypair.fromSeed(KEY.seed());
        assertEquals(KEY.synapseKey("mnist"), again.synapseKey("mnist"));
        assertNotEquals(KEY.synapseKey("mnist"), KEY.synapseKey("mnist2"));
        assertNotEquals(KEY.synapseKey("mnist"), Keypair.generate().synapseKey("mnist"));
        assertNotEquals(KEY.publicKeyHex(), KEY.synapseKey("mnist"));
    }

    @Test
    void refusesEmptyAndOversizeNames() {
        assertThrows(IllegalArgumentException.class, () -> KEY.synapseKey(""));
        assertThrows(IllegalArgumentException.class, () -> KEY.synapseKey(null));
        assertThrows(IllegalArgumentException.class, () -> KEY.synapseKey("x".repeat(257)));
        assertTrue(KEY.synapseKey("é".repeat(128)).startsWith("0x"));
        assertThrows(IllegalArgumentException.class, () -> KEY.synapseKey("é".repeat(129)));
    }
}
