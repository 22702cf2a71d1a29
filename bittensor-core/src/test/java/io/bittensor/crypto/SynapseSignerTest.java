package io.bittensor.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.proto.Synapse;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class SynapseSignerTest {

    private static final Keypair OWNER = Keypair.generate();

    private static Synapse entry() {
        return Synapse.newBuilder().setVersion("0.0.0").setNeuronKey(OWNER.publicKeyHex())
                .setSynapseKey("0x" + "22".repeat(32)).setAddress("10.0.0.1").setPort("8091")
                .setBlockHash("00000000000000000001").build();
    }

    private static Synapse published() {
        // The documented order: solve, sign, then the expiry.
        Synapse s = SynapseSigner.sign(ProofOfWork.solve(entry(), 1), OWNER);
        return SynapseSigner.withExpiry(s, 1_700_000_000_000L, OWNER);
    }

    /** Each change to a field the digest covers. */
    private static final List<UnaryOperator<Synapse.Builder>> TAMPERS = List.of(
            b -> b.setNeuronKey(Keypair.generate().publicKeyHex()),
            b -> b.setSynapseKey("0x" + "33".repeat(32)),
            b -> b.setAddress("10.0.0.2"),
            b -> b.setPort("8092"),
            b -> b.setBlockHash("00000000000000000002"),
            b -> b.setNounce(b.getNounce() + 1));

    @Test
    void publishedEntryVerifiesAllThree() {
        Synapse s = published();
        assertTrue(SynapseSigner.verify(s));
        assertTrue(SynapseSigner.verifyExpiry(s));
        assertTrue(ProofOfWork.check(s, 1));
    }

    @Test
    void tamperingAnyCoveredFieldBreaksBothSignatures() {
        Synapse s = published();
        for (int i = 0; i < TAMPERS.size(); i++) {
            Synapse t = TAMPERS.get(i).apply(s.toBuilder()).build();
            assertFalse(SynapseSigner.verify(t), "tamper #" + i);
            assertFalse(SynapseSigner.verifyExpiry(t), "tamper #" + i);
        }
        byte[] sig = s.getSignature().toByteArray();
        sig[5] ^= 1;
        assertFalse(SynapseSigner.verify(s.toBuilder().setSignature(ByteString.copyFrom(sig))
                .build()));
    }

    @Test
    void relayCannotChangeTheExpiry() {
        Synapse s = published();
        Synapse later = s.toBuilder().setExpiresAtMs(s.getExpiresAtMs() + 60_000).build();
        assertFalse(SynapseSigner.verifyExpiry(later));
        // Re-signing the later expiry with the relay's own key does not help either.
        Keypair relay = Keypair.generate();
        Synapse forged = s.toBuilder().setExpiresAtMs(s.getExpiresAtMs() + 60_000)
                .setExpirySignature(ByteString.copyFrom(relay.sign(SynapseSigner.expiryMessage(
                        SynapseSigner.digest(s), s.getExpiresAtMs() + 60_000,
                        java.util.List.of()))))
                .build();
        assertFalse(SynapseSigner.verifyExpiry(forged));
        // The original-format signature is untouched by the expiry fields.
        assertTrue(SynapseSigner.verify(later));
    }

    @Test
    void ownerCanReissueLaterExpiry() {
        Synapse s = published();
        Synapse renewed = SynapseSigner.withExpiry(s, s.getExpiresAtMs() + 15_000, OWNER);
        assertTrue(SynapseSigner.verifyExpiry(renewed));
        assertTrue(SynapseSigner.verify(renewed));
        assertEquals(s.getSignature(), renewed.getSignature());
    }

    @Test
    void expiryMissingOrMalformedIsFalse() {
        Synapse s = published();
        assertFalse(SynapseSigner.verifyExpiry(entry()));
        assertFalse(SynapseSigner.verifyExpiry(s.toBuilder().setExpiresAtMs(0).build()));
        assertFalse(SynapseSigner.verifyExpiry(s.toBuilder().setExpiresAtMs(-5).build()));
        assertFalse(SynapseSigner.verifyExpiry(s.toBuilder()
                .setExpirySignature(ByteString.copyFrom(new byte[10])).build()));
        assertThrows(IllegalArgumentException.class, () -> SynapseSigner.withExpiry(s, 0, OWNER));
    }

    @Test
    void signingRequiresTheOwnersKey() {
        Keypair other = Keypair.generate();
        assertThrows(IllegalArgumentException.class, () -> SynapseSigner.sign(entry(), other));
        assertThrows(IllegalArgumentException.class,
                () -> SynapseSigner.withExpiry(entry(), 1L, other));
        assertThrows(IllegalArgumentException.class,
                () -> SynapseSigner.sign(entry().toBuilder().clearNeuronKey().build(), OWNER));
    }

    @Test
    void hostileNounceOrKeyIsFalseWithoutHashingGigabytes() {
        Synapse s = published();
        for (int nounce : new int[] {-1, Integer.MIN_VALUE, SynapseSigner.MAX_NOUNCE + 1,
            Integer.MAX_VALUE}) {
            Synapse t = s.toBuilder().setNounce(nounce).build();
            assertFalse(SynapseSigner.verify(t));
            assertFalse(SynapseSigner.verifyExpiry(t));
            assertFalse(ProofOfWork.check(t, 1));
            assertThrows(IllegalArgumentException.class, () -> SynapseSigner.digest(t));
        }
        assertFalse(SynapseSigner.verify(s.toBuilder().setNeuronKey("0xnot-a-key").build()));
        assertFalse(SynapseSigner.verify(s.toBuilder().setNeuronKey("").build()));
        assertFalse(SynapseSigner.verify(entry()));
    }

    @Test
    void digestAtTheMaximumNounceIsComputable() {
        // Bound is inclusive: the largest accepted nounce still hashes (16 MiB of zeros).
        Synapse big = entry().toBuilder().setNounce(SynapseSigner.MAX_NOUNCE).build();
        assertEquals(32, SynapseSigner.digest(big).length);
        assertTrue(SynapseSigner.verify(SynapseSigner.sign(big, OWNER)));
    }

    @Test
    void expirySignatureCoversWhatTheSynapseServes() {
        Keypair owner = Keypair.generate();
        Synapse base = Synapse.newBuilder().setNeuronKey(owner.publicKeyHex())
                .setSynapseKey("0x" + "ab".repeat(32)).setAddress("10.0.0.1").setPort("8091")
                .addServes(io.bittensor.neuron.ServedInputs.image(3, 32, 32))
                .addServes(io.bittensor.neuron.ServedInputs.text(30522)).build();
        Synapse signed = SynapseSigner.withExpiry(SynapseSigner.sign(base, owner), 1_000_000L, owner);
        assertTrue(SynapseSigner.verifyExpiry(signed));
        // A relay that drops, adds or changes a served input breaks the expiry signature...
        assertFalse(SynapseSigner.verifyExpiry(signed.toBuilder().removeServes(1).build()));
        assertFalse(SynapseSigner.verifyExpiry(signed.toBuilder().clearServes().build()));
        assertFalse(SynapseSigner.verifyExpiry(signed.toBuilder()
                .addServes(io.bittensor.neuron.ServedInputs.tensor(512)).build()));
        assertFalse(SynapseSigner.verifyExpiry(signed.toBuilder()
                .setServes(0, io.bittensor.neuron.ServedInputs.image(1, 28, 28)).build()));
        assertFalse(SynapseSigner.verifyExpiry(signed.toBuilder()
                .setServes(1, io.bittensor.neuron.ServedInputs.text(30523)).build()));
        // ...while the original-format signature (which Python checks) does not cover it.
        assertTrue(SynapseSigner.verify(signed.toBuilder().clearServes().build()));
        // An entry that serves nothing is signed exactly as before the field existed.
        Synapse plain = SynapseSigner.withExpiry(SynapseSigner.sign(base.toBuilder().clearServes()
                .build(), owner), 1_000_000L, owner);
        assertTrue(Ed25519.verify(owner.publicKeyHex(), java.nio.ByteBuffer.allocate(40)
                .put(SynapseSigner.digest(plain)).putLong(1_000_000L).array(),
                plain.getExpirySignature().toByteArray()));
    }
}
