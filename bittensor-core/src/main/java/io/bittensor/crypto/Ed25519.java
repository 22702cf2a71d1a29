package io.bittensor.crypto;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.HexFormat;

/**
 * Ed25519 helpers: the raw 32-byte public key encoding (RFC 8032) and its {@code "0x" + lowercase
 * hex} text form, and signing and verification that never throws. Keys are derived with the JDK's
 * provider; signing and verification use Bouncy Castle's RFC 8032 code, about ten times faster
 * than the JDK's here (it is on every signed request's path, docs/crypto.md).
 */
public final class Ed25519 {

    /** Raw public key length (RFC 8032). */
    public static final int PUBLIC_KEY_BYTES = 32;
    /** Signature length (RFC 8032). */
    public static final int SIGNATURE_BYTES = 64;

    static final String ALGORITHM = "Ed25519";
    private static final HexFormat HEX = HexFormat.of();

    private Ed25519() {
    }

    /**
     * Verifies an Ed25519 signature by the key written {@code publicKeyHex} ("0x" + 64 hex).
     *
     * @return true only for a well-formed key and a valid 64-byte signature over {@code message};
     *     false on any malformed input (null, bad hex, wrong lengths, a point not on the curve)
     */
    public static boolean verify(String publicKeyHex, byte[] message, byte[] signature) {
        if (publicKeyHex == null || message == null || signature == null
                || signature.length != SIGNATURE_BYTES) {
            return false;
        }
        try {
            return verify(parseKeyHex(publicKeyHex), message, signature);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** As {@link #verify(String, byte[], byte[])} with the raw 32-byte key. */
    public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
        if (publicKey == null || publicKey.length != PUBLIC_KEY_BYTES || message == null
                || signature == null || signature.length != SIGNATURE_BYTES) {
            return false;
        }
        try {
            // Rejects s >= L and keys that are not canonical points, as the JDK's provider does.
            return org.bouncycastle.math.ec.rfc8032.Ed25519.verify(signature, 0, publicKey, 0,
                    message, 0, message.length);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * RFC 8032 signature of {@code message} by the key pair of {@code seed} whose public key is
     * {@code publicKey} (passed in, so it is not derived again per signature).
     */
    static byte[] sign(byte[] seed, byte[] publicKey, byte[] message) {
        byte[] signature = new byte[SIGNATURE_BYTES];
        org.bouncycastle.math.ec.rfc8032.Ed25519.sign(seed, 0, publicKey, 0, message, 0,
                message.length, signature, 0);
        return signature;
    }

    /**
     * Parses the {@code "0x" + 64 hex digits} form of a key (either case accepted).
     *
     * @throws IllegalArgumentException if the text is not exactly "0x" followed by 64 hex digits
     */
    public static byte[] parseKeyHex(String hex0x) {
        if (hex0x == null || hex0x.length() != 2 + 2 * PUBLIC_KEY_BYTES
                || !hex0x.startsWith("0x")) {
            throw new IllegalArgumentException("a key is \"0x\" followed by 64 hex digits, got "
                    + describe(hex0x));
        }
        try {
            return HEX.parseHex(hex0x, 2, hex0x.length());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a key is \"0x\" followed by 64 hex digits, got "
                    + describe(hex0x), e);
        }
    }

    /** The {@code "0x" + lowercase hex} text form of a raw 32-byte key. */
    public static String toKeyHex(byte[] raw) {
        if (raw == null || raw.length != PUBLIC_KEY_BYTES) {
            throw new IllegalArgumentException("a key is 32 bytes");
        }
        return "0x" + HEX.formatHex(raw);
    }

    /**
     * RFC 8032 encoding of a public key: y as 32 little-endian bytes, with the parity of x in the
     * top bit of the last byte. (The JDK exposes the point, not this encoding.)
     */
    static byte[] encodePoint(EdECPublicKey key) {
        EdECPoint point = key.getPoint();
        byte[] bigEndian = point.getY().toByteArray(); // may carry a leading sign byte, or be short
        byte[] out = new byte[PUBLIC_KEY_BYTES];
        for (int i = 0; i < PUBLIC_KEY_BYTES && i < bigEndian.length; i++) {
            out[i] = bigEndian[bigEndian.length - 1 - i];
        }
        if (point.isXOdd()) {
            out[PUBLIC_KEY_BYTES - 1] |= (byte) 0x80;
        }
        return out;
    }

    /** The inverse of {@link #encodePoint}; the provider rejects points not on the curve later. */
    static PublicKey toPublicKey(byte[] raw) throws GeneralSecurityException {
        byte[] bigEndian = new byte[PUBLIC_KEY_BYTES];
        for (int i = 0; i < PUBLIC_KEY_BYTES; i++) {
            bigEndian[i] = raw[PUBLIC_KEY_BYTES - 1 - i];
        }
        boolean xOdd = (bigEndian[0] & 0x80) != 0;
        bigEndian[0] &= 0x7f;
        EdECPoint point = new EdECPoint(xOdd, new BigInteger(1, bigEndian));
        return KeyFactory.getInstance(ALGORITHM)
                .generatePublic(new EdECPublicKeySpec(NamedParameterSpec.ED25519, point));
    }

    private static String describe(String s) {
        if (s == null) {
            return "null";
        }
        // Never echo an unbounded attacker-controlled string into logs or exceptions.
        return s.length() > 80 ? "\"" + s.substring(0, 80) + "...\" (" + s.length() + " chars)"
                : "\"" + s + "\"";
    }
}
