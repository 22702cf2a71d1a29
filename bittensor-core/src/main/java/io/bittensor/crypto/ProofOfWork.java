package io.bittensor.crypto;

import io.bittensor.proto.Synapse;
import io.bittensor.proto.SynapseOrBuilder;
import com.google.protobuf.ByteString;
import java.security.MessageDigest;

/**
 * The original peer's proof of work on a synapse entry.
 *
 * <p>d = SHA-256(neuron_key | synapse_key | address | port | block_hash) (UTF-8, no separators);
 * for nounce = 0, 1, 2, ...: p = SHA-256(d || nounce zero bytes), until the lowercase hex of p
 * starts with at least {@code difficulty} '0' characters. The entry carries that nounce and
 * {@code proof_of_work = p}. Expected work: 16^difficulty hashes.
 *
 * <p>Because the suffix is all zeros, each candidate extends the previous one by one zero byte;
 * the solver keeps one running SHA-256 state and clones it per candidate, so solving costs
 * O(nounce) rather than the original's O(nounce^2) bytes hashed. A nounce above
 * {@link SynapseSigner#MAX_NOUNCE} is never produced nor accepted (difficulty 6 and up would need
 * ~16^6 = 2^24 candidates on average and so mostly fails).
 *
 * <p>The nounce is also covered by the synapse signature: solve first, then
 * {@link SynapseSigner#sign}.
 */
public final class ProofOfWork {

    /** SHA-256 has 64 hex digits. */
    public static final int MAX_DIFFICULTY = 64;

    private ProofOfWork() {
    }

    /**
     * Finds the smallest nounce meeting {@code difficulty}; returns the entry with nounce and
     * proof_of_work set (any signature it had no longer matches: sign afterwards).
     *
     * @throws IllegalArgumentException if difficulty is outside [0, 64]
     * @throws IllegalStateException if no nounce up to {@link SynapseSigner#MAX_NOUNCE} meets it
     */
    public static Synapse solve(Synapse s, int difficulty) {
        if (difficulty < 0 || difficulty > MAX_DIFFICULTY) {
            throw new IllegalArgumentException("difficulty must be in [0, 64], got " + difficulty);
        }
        byte[] d = SynapseSigner.fieldsDigest(s).digest();
        MessageDigest running = SynapseSigner.sha256();
        running.update(d);
        for (int nounce = 0; nounce <= SynapseSigner.MAX_NOUNCE; nounce++) {
            byte[] p = finish(running);
            if (countLeadingZeroHexDigits(p) >= difficulty) {
                return s.toBuilder().setNounce(nounce).setProofOfWork(ByteString.copyFrom(p))
                        .build();
            }
            running.update((byte) 0);
        }
        throw new IllegalStateException("no proof of work of difficulty " + difficulty
                + " within nounce " + SynapseSigner.MAX_NOUNCE);
    }

    /**
     * True when proof_of_work is exactly SHA-256(d || nounce zero bytes) and its hex starts with
     * at least {@code difficulty} zeros. {@code difficulty <= 0} requires nothing and is always
     * true (an original Python entry carries no proof at all). False, never an exception, on a
     * nounce outside [0, MAX_NOUNCE] or a proof that is not 32 bytes.
     */
    public static boolean check(SynapseOrBuilder s, int difficulty) {
        if (difficulty <= 0) {
            return true;
        }
        ByteString claimed = s.getProofOfWork();
        if (difficulty > MAX_DIFFICULTY || claimed.size() != 32 || s.getNounce() < 0
                || s.getNounce() > SynapseSigner.MAX_NOUNCE) {
            return false;
        }
        // Cheap test first: the claimed hash must itself meet the difficulty.
        byte[] claimedBytes = claimed.toByteArray();
        if (countLeadingZeroHexDigits(claimedBytes) < difficulty) {
            return false;
        }
        return MessageDigest.isEqual(proofFor(s), claimedBytes);
    }

    /**
     * The proof-of-work hash SHA-256(d || nounce zero bytes) of the entry's current nounce,
     * whatever its difficulty. A relay that checked an entry's proof can drop the 32 bytes and
     * recompute them when it sends the entry on (the metagraph does, to keep entries compact).
     *
     * @throws IllegalArgumentException if the nounce is outside [0, MAX_NOUNCE]
     */
    public static byte[] proofFor(SynapseOrBuilder s) {
        MessageDigest sha = SynapseSigner.sha256();
        sha.update(SynapseSigner.fieldsDigest(s).digest());
        SynapseSigner.updateZeros(sha, SynapseSigner.checkedNounce(s.getNounce()));
        return sha.digest();
    }

    /** The number of leading '0' characters of the lowercase hex form of {@code hash}. */
    public static int countLeadingZeroHexDigits(byte[] hash) {
        int zeros = 0;
        for (byte b : hash) {
            if (b == 0) {
                zeros += 2;
            } else {
                return (b & 0xf0) == 0 ? zeros + 1 : zeros;
            }
        }
        return zeros;
    }

    private static byte[] finish(MessageDigest running) {
        try {
            return ((MessageDigest) running.clone()).digest();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("the JDK's SHA-256 is cloneable", e);
        }
    }
}
