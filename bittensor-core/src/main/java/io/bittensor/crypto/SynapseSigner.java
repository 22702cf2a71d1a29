package io.bittensor.crypto;

import io.bittensor.proto.ServedInput;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.SynapseOrBuilder;
import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The original peer's synapse digest and signature, plus our owner-set expiry signature.
 *
 * <p>Digest (PROTOCOL.md): SHA-256 over the UTF-8 of neuron_key, synapse_key, address, port and
 * block_hash, then {@code nounce} zero bytes (Python's {@code bytes(n)}). The signature (field 11)
 * is Ed25519 over that digest by neuron_key, so original tooling can verify our entries.
 *
 * <p>The expiry signature (field 21) is Ed25519 over {@code digest || expires_at_ms} (8 bytes,
 * big-endian), binding the owner-set expiry (field 20) to the entry so that a relay cannot
 * extend it. When the entry says what it serves (field 28), {@code || SHA-256(serves)} follows,
 * over each served input in order as {@code modality (int32) || rank (int32) || dims (int64 each)
 * || vocab_size (int64)}, all big-endian: a relay cannot change what the owner declared.
 *
 * <p>Order when publishing an entry: {@link ProofOfWork#solve} (it sets the nounce, which the
 * digest covers), then {@link #sign}, then {@link #withExpiry}.
 *
 * <p>Cost: hashing is linear in the nounce. A nounce outside {@code [0, MAX_NOUNCE]} is refused
 * (verify false, digest throws) so a hostile entry cannot make us hash gigabytes; a negative one is
 * also what Python's {@code bytes(n)} refuses.
 */
public final class SynapseSigner {

    /** The largest nounce we hash: 16 Mi zero bytes (a few ms to tens of ms of SHA-256). */
    public static final int MAX_NOUNCE = 1 << 24;

    // The zero bytes of bytes(nounce) come from this block, fed repeatedly (never written to).
    private static final byte[] ZEROS = new byte[16 * 1024];

    private SynapseSigner() {
    }

    /**
     * The original's synapse digest (32 bytes).
     *
     * @throws IllegalArgumentException if the nounce is negative or above {@link #MAX_NOUNCE}
     */
    public static byte[] digest(SynapseOrBuilder s) {
        MessageDigest sha = fieldsDigest(s);
        updateZeros(sha, checkedNounce(s.getNounce()));
        return sha.digest();
    }

    /**
     * Signs the entry's digest with {@code owner} (field 11), as the original does.
     *
     * @throws IllegalArgumentException if neuron_key is not the owner's key (an entry signed by a
     *     key other than its neuron_key could never verify), or the nounce is out of range
     */
    public static Synapse sign(Synapse s, Keypair owner) {
        requireOwner(s, owner);
        return s.toBuilder().setSignature(ByteString.copyFrom(owner.sign(digest(s)))).build();
    }

    /** True when {@code signature} is a valid Ed25519 signature of the digest by neuron_key. */
    public static boolean verify(SynapseOrBuilder s) {
        if (!plausible(s, s.getSignature())) {
            return false;
        }
        return Ed25519.verify(s.getNeuronKey(), digest(s), s.getSignature().toByteArray());
    }

    /**
     * Sets the owner's expiry (field 20) and its signature (field 21). The original-format
     * {@code signature} is left as it is, and stays valid: the expiry fields are outside its digest.
     *
     * @param expiresAtMs milliseconds since the Unix epoch, &gt; 0
     * @throws IllegalArgumentException if expiresAtMs &le; 0, neuron_key is not the owner's, or the
     *     nounce is out of range
     */
    public static Synapse withExpiry(Synapse s, long expiresAtMs, Keypair owner) {
        if (expiresAtMs <= 0) {
            throw new IllegalArgumentException("expires_at_ms must be > 0, got " + expiresAtMs);
        }
        requireOwner(s, owner);
        byte[] sig = owner.sign(expiryMessage(digest(s), expiresAtMs, s.getServesList()));
        return s.toBuilder().setExpiresAtMs(expiresAtMs)
                .setExpirySignature(ByteString.copyFrom(sig)).build();
    }

    /**
     * True when expires_at_ms is set (&gt; 0) and expiry_signature is neuron_key's signature over
     * {@code digest || expires_at_ms}. It does not check the original {@code signature}, nor
     * whether the time has passed: callers check {@link #verify} and compare with their clock.
     */
    public static boolean verifyExpiry(SynapseOrBuilder s) {
        if (s.getExpiresAtMs() <= 0 || !plausible(s, s.getExpirySignature())) {
            return false;
        }
        return Ed25519.verify(s.getNeuronKey(),
                expiryMessage(digest(s), s.getExpiresAtMs(), s.getServesList()),
                s.getExpirySignature().toByteArray());
    }

    static byte[] expiryMessage(byte[] digest, long expiresAtMs, List<ServedInput> serves) {
        ByteBuffer b = ByteBuffer.allocate(digest.length + Long.BYTES + (serves.isEmpty() ? 0 : 32))
                .put(digest).putLong(expiresAtMs);
        if (!serves.isEmpty()) {
            b.put(servesDigest(serves));
        }
        return b.array();
    }

    /** SHA-256 of the canonical form of a serves list (see the class comment). */
    static byte[] servesDigest(List<ServedInput> serves) {
        MessageDigest sha = sha256();
        ByteBuffer b = ByteBuffer.allocate(Long.BYTES);
        for (ServedInput in : serves) {
            b.clear();
            b.putInt(in.getModalityValue()).putInt(in.getShapeCount());
            sha.update(b.array(), 0, 8);
            for (long d : in.getShapeList()) {
                b.clear();
                sha.update(b.putLong(d).array(), 0, 8);
            }
            b.clear();
            sha.update(b.putLong(in.getVocabSize()).array(), 0, 8);
        }
        return sha.digest();
    }

    /** SHA-256 fed with the five strings of both the digest and the proof of work. */
    static MessageDigest fieldsDigest(SynapseOrBuilder s) {
        MessageDigest sha = sha256();
        // The *Bytes() accessors are the UTF-8 as received: what Python hashes after decoding.
        update(sha, s.getNeuronKeyBytes());
        update(sha, s.getSynapseKeyBytes());
        update(sha, s.getAddressBytes());
        update(sha, s.getPortBytes());
        update(sha, s.getBlockHashBytes());
        return sha;
    }

    /** Feeds {@code count} zero bytes without allocating them. */
    static void updateZeros(MessageDigest sha, int count) {
        int left = count;
        while (left > 0) {
            int n = Math.min(left, ZEROS.length);
            sha.update(ZEROS, 0, n);
            left -= n;
        }
    }

    /**
     * Hashes {@code bytes} where they lie. (Read-only views, as {@code asReadOnlyByteBufferList}
     * gives, have no accessible array, so {@code MessageDigest} would copy them again in 4 KiB
     * pieces before hashing.) The digest only reads what it is handed.
     */
    static void update(MessageDigest sha, ByteString bytes) {
        try {
            UnsafeByteOperations.unsafeWriteTo(bytes, new DigestOutput(sha));
        } catch (IOException e) {
            throw new UncheckedIOException("hashing in memory cannot fail", e);
        }
    }

    /** Feeds whatever a {@link ByteString} writes into a digest. */
    private static final class DigestOutput extends ByteOutput {
        private final MessageDigest sha;

        DigestOutput(MessageDigest sha) {
            this.sha = sha;
        }

        @Override
        public void write(byte value) {
            sha.update(value);
        }

        @Override
        public void write(byte[] value, int offset, int length) {
            sha.update(value, offset, length);
        }

        @Override
        public void writeLazy(byte[] value, int offset, int length) {
            sha.update(value, offset, length);
        }

        @Override
        public void write(ByteBuffer value) {
            sha.update(value);
        }

        @Override
        public void writeLazy(ByteBuffer value) {
            sha.update(value);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    static int checkedNounce(int nounce) {
        if (nounce < 0 || nounce > MAX_NOUNCE) {
            throw new IllegalArgumentException(
                    "nounce must be in [0, " + MAX_NOUNCE + "], got " + nounce);
        }
        return nounce;
    }

    /** Cheap checks before hashing anything an attacker sized. */
    private static boolean plausible(SynapseOrBuilder s, ByteString signature) {
        return s.getNounce() >= 0 && s.getNounce() <= MAX_NOUNCE
                && signature.size() == Ed25519.SIGNATURE_BYTES
                && s.getNeuronKey().length() == 2 + 2 * Ed25519.PUBLIC_KEY_BYTES;
    }

    private static void requireOwner(SynapseOrBuilder s, Keypair owner) {
        if (!owner.publicKeyHex().equals(s.getNeuronKey())) {
            throw new IllegalArgumentException("the synapse's neuron_key " + s.getNeuronKey()
                    + " is not the signer's key " + owner.publicKeyHex()
                    + " (set neuron_key before solving the proof of work and signing)");
        }
    }
}
