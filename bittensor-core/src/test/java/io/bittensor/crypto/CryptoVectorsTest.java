package io.bittensor.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.proto.Synapse;
import java.io.IOException;
import java.io.InputStream;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Reproduces semantic-vectors/crypto.json, produced by the original Python peer. */
class CryptoVectorsTest {

    private static final HexFormat HEX = HexFormat.of();
    private static JsonNode v;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = CryptoVectorsTest.class
                .getResourceAsStream("/semantic-vectors/crypto.json")) {
            v = new ObjectMapper().readTree(in);
        }
    }

    static Synapse vectorSynapse() {
        JsonNode s = v.get("synapse");
        return Synapse.newBuilder().setVersion(s.get("version").asText())
                .setNeuronKey(s.get("neuron_key").asText())
                .setSynapseKey(s.get("synapse_key").asText())
                .setAddress(s.get("address").asText()).setPort(s.get("port").asText())
                .setBlockHash(s.get("block_hash").asText()).setNounce(s.get("nounce").asInt())
                .build();
    }

    static Keypair vectorKey() {
        return Keypair.fromSeed(HEX.parseHex(v.get("private_key_seed_hex").asText()));
    }

    @Test
    void publicKeyFromSeed() {
        Keypair kp = vectorKey();
        assertEquals(v.get("public_key").asText(), kp.publicKeyHex());
        assertArrayEquals(Ed25519.parseKeyHex(v.get("public_key").asText()), kp.publicKeyBytes());
        assertArrayEquals(HEX.parseHex(v.get("private_key_seed_hex").asText()), kp.seed());
    }

    @Test
    void digestSignatureAndSignedBytes() {
        Synapse s = vectorSynapse();
        assertEquals(v.get("digest_hex").asText(), HEX.formatHex(SynapseSigner.digest(s)));

        Synapse signed = SynapseSigner.sign(s, vectorKey());
        assertEquals(v.get("signature_hex").asText(),
                HEX.formatHex(signed.getSignature().toByteArray()));
        assertEquals(v.get("signed_synapse_proto_hex").asText(),
                HEX.formatHex(signed.toByteArray()));
        assertEquals(v.get("verify_signed").asBoolean(), SynapseSigner.verify(signed));
    }

    @Test
    void signatureFromTheVectorBytesVerifies() throws Exception {
        Synapse parsed = Synapse.parseFrom(HEX.parseHex(v.get("signed_synapse_proto_hex").asText()));
        assertTrue(SynapseSigner.verify(parsed));
    }

    @Test
    void proofOfWorkAtDifficultyTwo() {
        JsonNode pow = v.get("proof_of_work");
        int difficulty = pow.get("difficulty").asInt();
        Synapse solved = ProofOfWork.solve(vectorSynapse(), difficulty);
        assertEquals(pow.get("nounce").asInt(), solved.getNounce());
        assertEquals(pow.get("proof_of_work_hex").asText(),
                HEX.formatHex(solved.getProofOfWork().toByteArray()));
        assertEquals(pow.get("synapse_proto_hex").asText(), HEX.formatHex(solved.toByteArray()));
        assertTrue(ProofOfWork.check(solved, difficulty));
    }

    @Test
    void countZerosExamples() {
        for (JsonNode ex : v.get("count_zeros_examples")) {
            assertEquals(ex.get("zeros").asInt(),
                    ProofOfWork.countLeadingZeroHexDigits(HEX.parseHex(ex.get("hex").asText())),
                    ex.get("hex").asText());
        }
    }
}
