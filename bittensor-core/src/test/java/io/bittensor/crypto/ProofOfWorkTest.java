package io.bittensor.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.proto.Synapse;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class ProofOfWorkTest {

    private static Synapse entry(String port) {
        return Synapse.newBuilder().setNeuronKey("0x" + "11".repeat(32))
                .setSynapseKey("0x" + "22".repeat(32)).setAddress("127.0.0.1").setPort(port)
                .setBlockHash("abc").build();
    }

    /** The original's loop, written the slow obvious way: an oracle for the incremental solver. */
    private static int naiveSolve(Synapse s, int difficulty) throws Exception {
        MessageDigest f = MessageDigest.getInstance("SHA-256");
        for (String part : new String[] {s.getNeuronKey(), s.getSynapseKey(), s.getAddress(),
            s.getPort(), s.getBlockHash()}) {
            f.update(part.getBytes("UTF-8"));
        }
        byte[] d = f.digest();
        for (int n = 0; ; n++) {
            MessageDigest p = MessageDigest.getInstance("SHA-256");
            p.update(d);
            p.update(new byte[n]);
            String hex = HexFormat.of().formatHex(p.digest());
            if (hex.length() - hex.replaceFirst("^0+", "").length() >= difficulty) {
                return n;
            }
        }
    }

    @Test
    void solverMatchesTheNaiveLoop() throws Exception {
        for (String port : new String[] {"1", "2", "3", "4"}) {
            Synapse s = entry(port);
            Synapse solved = ProofOfWork.solve(s, 3);
            assertEquals(naiveSolve(s, 3), solved.getNounce(), port);
            assertTrue(ProofOfWork.check(solved, 3));
            assertTrue(ProofOfWork.countLeadingZeroHexDigits(
                    solved.getProofOfWork().toByteArray()) >= 3);
        }
    }

    @Test
    void checkRefusesWrongOrWeakProofs() {
        Synapse solved = ProofOfWork.solve(entry("9"), 2);
        int have = ProofOfWork.countLeadingZeroHexDigits(solved.getProofOfWork().toByteArray());
        assertFalse(ProofOfWork.check(solved, have + 1), "below the required difficulty");
        assertFalse(ProofOfWork.check(solved.toBuilder().setNounce(solved.getNounce() + 1).build(),
                2));
        assertFalse(ProofOfWork.check(solved.toBuilder().setPort("10").build(), 2));
        // A made-up hash with plenty of zeros but not the real one.
        assertFalse(ProofOfWork.check(solved.toBuilder()
                .setProofOfWork(ByteString.copyFrom(new byte[32])).build(), 2));
        assertFalse(ProofOfWork.check(solved.toBuilder()
                .setProofOfWork(ByteString.copyFrom(new byte[31])).build(), 2));
        assertFalse(ProofOfWork.check(solved, 65));
    }

    @Test
    void proofForRecomputesTheSolvedProof() {
        Synapse solved = ProofOfWork.solve(entry("5"), 2);
        assertEquals(solved.getProofOfWork(),
                ByteString.copyFrom(ProofOfWork.proofFor(solved.toBuilder().clearProofOfWork())));
        assertThrows(IllegalArgumentException.class,
                () -> ProofOfWork.proofFor(solved.toBuilder().setNounce(-1)));
    }

    @Test
    void difficultyZeroRequiresNothing() {
        assertTrue(ProofOfWork.check(entry("1"), 0), "an original entry without any proof");
        assertEquals(0, ProofOfWork.solve(entry("1"), 0).getNounce());
        assertThrows(IllegalArgumentException.class, () -> ProofOfWork.solve(entry("1"), -1));
        assertThrows(IllegalArgumentException.class, () -> ProofOfWork.solve(entry("1"), 65));
    }

    @Test
    void countLeadingZeros() {
        assertEquals(64, ProofOfWork.countLeadingZeroHexDigits(new byte[32]));
        assertEquals(0, ProofOfWork.countLeadingZeroHexDigits(new byte[0]));
        assertEquals(5, ProofOfWork.countLeadingZeroHexDigits(new byte[] {0, 0, 0x0a, 0}));
        assertEquals(0, ProofOfWork.countLeadingZeroHexDigits(new byte[] {(byte) 0x80}));
    }
}
