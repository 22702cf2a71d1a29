package io.bittensor.crypto;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.NamedParameterSpec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * An Ed25519 key pair: a neuron's identity. Built on the JDK's own Ed25519 (Java 15+), from a
 * 32-byte seed (the RFC 8032 private key). Immutable; {@link #toString()} never shows the seed.
 */
public final class Keypair {

    /** Seed (private key) length (RFC 8032). */
    public static final int SEED_BYTES = 32;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] seed;
    private final byte[] publicKey;
    private final String publicKeyHex;
    private final PrivateKey privateKey;

    private Keypair(byte[] seed, byte[] publicKey, PrivateKey privateKey) {
        this.seed = seed;
        this.publicKey = publicKey;
        this.publicKeyHex = Ed25519.toKeyHex(publicKey);
        this.privateKey = privateKey;
    }

    /** A fresh key pair from a {@link SecureRandom} seed. */
    public static Keypair generate() {
        byte[] seed = new byte[SEED_BYTES];
        RANDOM.nextBytes(seed);
        try {
            return fromSeed(seed);
        } finally {
            Arrays.fill(seed, (byte) 0);
        }
    }

    /**
     * The key pair of a 32-byte seed, as every RFC 8032 implementation (Python's cryptography
     * included) derives it.
     *
     * @throws IllegalArgumentException if the seed is not 32 bytes
     */
    public static Keypair fromSeed(byte[] seed32) {
        if (seed32 == null || seed32.length != SEED_BYTES) {
            throw new IllegalArgumentException("an Ed25519 seed is 32 bytes, got "
                    + (seed32 == null ? "null" : seed32.length));
        }
        byte[] seed = seed32.clone();
        try {
            // The JDK derives the public point only inside its key-pair generator, which draws the
            // seed as exactly 32 bytes from the SecureRandom it is given: hand it ours.
            KeyPairGenerator generator = KeyPairGenerator.getInstance(Ed25519.ALGORITHM);
            generator.initialize(NamedParameterSpec.ED25519, new FixedSeed(seed));
            KeyPair pair = generator.generateKeyPair();
            EdECPrivateKey priv = (EdECPrivateKey) pair.getPrivate();
            byte[] drawn = priv.getBytes().orElseThrow();
            if (!Arrays.equals(drawn, seed)) {
                throw new IllegalStateException("the JDK's Ed25519 generator did not use the seed");
            }
            Arrays.fill(drawn, (byte) 0);
            return new Keypair(seed, Ed25519.encodePoint((EdECPublicKey) pair.getPublic()), priv);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks Ed25519 (needs Java 15+)", e);
        }
    }

    /** The 32-byte seed (private key). A copy: the caller should wipe it after use. */
    public byte[] seed() {
        return seed.clone();
    }

    /** The raw 32-byte public key (RFC 8032 encoding). A copy. */
    public byte[] publicKeyBytes() {
        return publicKey.clone();
    }

    /** The public key as written on the wire: {@code "0x"} + 64 lowercase hex digits. */
    public String publicKeyHex() {
        return publicKeyHex;
    }

    /** Longest synapse name {@link #synapseKey(String)} takes, in UTF-8 bytes. */
    public static final int MAX_SYNAPSE_NAME_BYTES = 256;
    private static final byte[] SYNAPSE_LABEL =
            "bittensor-java synapse key v1\0".getBytes(StandardCharsets.US_ASCII);

    /**
     * The {@code synapse_key} this neuron serves {@code name} under, in the original's format: an
     * Ed25519 public key, {@code "0x"} + 64 lowercase hex. The original draws a fresh key per
     * synapse; we derive one so the key survives restarts: its seed is
     * HMAC-SHA256(key = this key's seed, message = "bittensor-java synapse key v1\0" ‖ UTF-8 name).
     * The same neuron key and name always give the same synapse key; different names or neuron
     * keys give unrelated ones, and nobody without the seed can tell which name or owner a key
     * came from (docs/crypto.md).
     *
     * @throws IllegalArgumentException if {@code name} is empty or over
     *     {@link #MAX_SYNAPSE_NAME_BYTES} UTF-8 bytes
     */
    public String synapseKey(String name) {
        byte[] n = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length > MAX_SYNAPSE_NAME_BYTES) {
            throw new IllegalArgumentException("a synapse name is 1.." + MAX_SYNAPSE_NAME_BYTES
                    + " UTF-8 bytes, got " + n.length);
        }
        byte[] child = null;
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(seed, "HmacSHA256"));
            mac.update(SYNAPSE_LABEL);
            child = mac.doFinal(n);
            return fromSeed(child).publicKeyHex();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        } finally {
            if (child != null) {
                Arrays.fill(child, (byte) 0);
            }
        }
    }

    /** A 64-byte Ed25519 signature of {@code message} (deterministic, RFC 8032). */
    public byte[] sign(byte[] message) {
        return Ed25519.sign(seed, publicKey, message);
    }

    /** Key pairs are equal when their public keys are (the public key determines the seed's use). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Keypair other && Arrays.equals(publicKey, other.publicKey);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(publicKey);
    }

    @Override
    public String toString() {
        return "Keypair[" + publicKeyHex + "]";
    }

    /** A SecureRandom that yields one given seed: only for deriving a key pair from it. */
    private static final class FixedSeed extends SecureRandom {
        private static final long serialVersionUID = 1L;
        private final transient byte[] seed;
        private transient int used;

        FixedSeed(byte[] seed) {
            super((java.security.SecureRandomSpi) null, null);
            this.seed = seed;
        }

        @Override
        public synchronized void nextBytes(byte[] bytes) {
            if (used + bytes.length > seed.length) {
                throw new IllegalStateException("asked for more than the 32-byte seed");
            }
            System.arraycopy(seed, used, bytes, 0, bytes.length);
            used += bytes.length;
        }
    }
}
