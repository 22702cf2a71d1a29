package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.ProofOfWork;
import io.bittensor.crypto.SynapseSigner;
import io.bittensor.proto.Synapse;
import org.junit.jupiter.api.Test;

class SynapseRecordTest {

    private static final Keypair OWNER = Keypair.fromSeed(new byte[32]);

    private static Synapse signed(Synapse.Builder b, long expiry) {
        Synapse s = SynapseSigner.sign(ProofOfWork.solve(b.setNeuronKey(OWNER.publicKeyHex())
                .build(), 1), OWNER);
        return SynapseSigner.withExpiry(s, expiry, OWNER);
    }

    private static byte[] full(Synapse s) {
        return SynapseRecord.encode(s, SynapseRecord.FLAG_SIG | SynapseRecord.FLAG_EXPIRY
                | SynapseRecord.FLAG_POW, s.getExpiresAtMs());
    }

    @Test
    void canonicalEntryRoundTripsAndStillVerifies() {
        Synapse s = signed(Synapse.newBuilder().setVersion("0.0.0")
                .setSynapseKey("0x" + "ab".repeat(32)).setAddress("10.0.255.7").setPort("8091"),
                1_700_000_000_123L);
        byte[] r = full(s);
        Synapse back = SynapseRecord.decode(r);
        assertEquals(s, back);
        assertTrue(SynapseSigner.verify(back));
        assertTrue(SynapseSigner.verifyExpiry(back));
        assertTrue(ProofOfWork.check(back, 1));
        assertEquals(1_700_000_000_123L, SynapseRecord.deadline(r));
        assertEquals(s.getSynapseKey(), SynapseRecord.synapseKey(r));
        // 9 header + 33 + 33 keys + 5 address + 3 port + 1 version + 1 block hash + 1 nounce
        // (small) + 64 + 64 signatures: the compact forms are in use.
        assertTrue(r.length <= 9 + 33 + 33 + 5 + 3 + 1 + 1 + 3 + 128, "length " + r.length);
    }

    @Test
    void oddFieldsAreKeptByteForByte() {
        String[][] cases = {
            // version, synapse key, address, port, block hash
            {"1.2.3", "0x" + "AB".repeat(32), "localhost", "08091", "hash"},
            {"", "short-key", "01.2.3.4", "65536", ""},
            {"0.0.0", "0x" + "ab".repeat(31), "1.2.3", "-1", "ü∂"},
            {"0.0.0", "0x" + "ab".repeat(32), "256.1.1.1", "0", "x".repeat(200)},
            {"0.0.0", "ключ", "::1", "", "b"},
        };
        for (String[] c : cases) {
            Synapse s = signed(Synapse.newBuilder().setVersion(c[0]).setSynapseKey(c[1])
                    .setAddress(c[2]).setPort(c[3]).setBlockHash(c[4]), 5L);
            Synapse back = SynapseRecord.decode(full(s));
            assertEquals(s, back, String.join("|", c));
            assertTrue(SynapseSigner.verify(back), String.join("|", c));
        }
    }

    @Test
    void unsignedEntryWithoutProofHasNoneAfterwards() {
        Synapse s = Synapse.newBuilder().setVersion("0.0.0").setNeuronKey("python-key")
                .setSynapseKey("0x" + "01".repeat(32)).setAddress("1.2.3.4").setPort("8091")
                .build();
        byte[] r = SynapseRecord.encode(s, 0, 42L);
        assertEquals(s, SynapseRecord.decode(r));
        assertFalse(SynapseRecord.isAuthenticated(r));
        assertFalse(SynapseRecord.hasExpiry(r));
        assertEquals(42L, SynapseRecord.deadline(r));
    }

    @Test
    void identityIgnoresOnlyTheExpiry() {
        Synapse.Builder b = Synapse.newBuilder().setSynapseKey("0x" + "cd".repeat(32))
                .setAddress("1.1.1.1").setPort("1");
        Synapse a = signed(b.clone(), 100L);
        Synapse later = SynapseSigner.withExpiry(a, 200L, OWNER);
        Synapse moved = signed(b.clone().setPort("2"), 200L);
        assertTrue(SynapseRecord.sameIdentity(full(a), full(later)));
        assertFalse(SynapseRecord.sameIdentity(full(a), full(moved)));
        assertTrue(SynapseRecord.sameNeuronKey(full(a), full(moved)));
        Synapse other = Synapse.newBuilder(a).setNeuronKey("0x" + "00".repeat(32)).build();
        assertFalse(SynapseRecord.sameNeuronKey(full(a), full(other)));
    }

    @Test
    void keyFieldMatchesTheRecordPrefix() {
        Synapse s = signed(Synapse.newBuilder().setSynapseKey("0x" + "ef".repeat(32)), 1L);
        byte[] r = full(s);
        byte[] k = SynapseRecord.keyField(ByteString.copyFromUtf8(s.getSynapseKey()));
        byte[] prefix = java.util.Arrays.copyOfRange(r, SynapseRecord.KEY_OFFSET,
                SynapseRecord.keyEnd(r));
        assertArrayEquals(k, prefix);
    }
}
