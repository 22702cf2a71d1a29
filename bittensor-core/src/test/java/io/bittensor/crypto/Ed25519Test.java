package io.bittensor.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Ed25519Test {

    private static final HexFormat HEX = HexFormat.of();

    /** RFC 8032 section 7.1, TEST 1 and TEST 2: an oracle independent of Python's vector. */
    @Test
    void rfc8032Vectors() {
        String[][] vectors = {
            {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
                    + "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
            {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
                    + "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        };
        for (String[] t : vectors) {
            Keypair kp = Keypair.fromSeed(HEX.parseHex(t[0]));
            assertEquals("0x" + t[1], kp.publicKeyHex());
            byte[] msg = HEX.parseHex(t[2]);
            assertEquals(t[3], HEX.formatHex(kp.sign(msg)));
            assertTrue(Ed25519.verify("0x" + t[1], msg, HEX.parseHex(t[3])));
        }
    }

    /** Both parities of x occur among random keys; each must survive encode/decode. */
    @Test
    void randomKeysSignAndVerifyThroughTheirHexForm() {
        boolean sawOdd = false;
        boolean sawEven = false;
        byte[] msg = "hello".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 24; i++) {
            Keypair kp = Keypair.generate();
            sawOdd |= (kp.publicKeyBytes()[31] & 0x80) != 0;
            sawEven |= (kp.publicKeyBytes()[31] & 0x80) == 0;
            byte[] sig = kp.sign(msg);
            assertTrue(Ed25519.verify(kp.publicKeyHex(), msg, sig));
            assertEquals(kp, Keypair.fromSeed(kp.seed()));
            // The same key with the x-parity bit flipped is another point: must not verify.
            byte[] flipped = kp.publicKeyBytes();
            flipped[31] ^= (byte) 0x80;
            assertFalse(Ed25519.verify(flipped, msg, sig));
        }
        assertTrue(sawOdd && sawEven, "24 random keys should show both x parities");
    }

    @Test
    void parseKeyHex() {
        byte[] raw = new byte[32];
        Arrays.fill(raw, (byte) 0xab);
        assertArrayEquals(raw, Ed25519.parseKeyHex("0x" + "ab".repeat(32)));
        assertArrayEquals(raw, Ed25519.parseKeyHex("0x" + "AB".repeat(32)));
        for (String bad : new String[] {null, "", "0x", "ab".repeat(33), "0x" + "ab".repeat(31),
            "0x" + "ab".repeat(33), "0X" + "ab".repeat(32), "0x" + "zz".repeat(32),
            "0x" + "ab".repeat(31) + "a "}) {
            assertThrows(IllegalArgumentException.class, () -> Ed25519.parseKeyHex(bad),
                    String.valueOf(bad));
        }
    }

    @Test
    void verifyIsFalseNotAnExceptionOnMalformedInput() {
        Keypair kp = Keypair.generate();
        byte[] msg = {1, 2, 3};
        byte[] sig = kp.sign(msg);
        String key = kp.publicKeyHex();
        assertFalse(Ed25519.verify((String) null, msg, sig));
        assertFalse(Ed25519.verify(key, null, sig));
        assertFalse(Ed25519.verify(key, msg, null));
        assertFalse(Ed25519.verify("0xnothex", msg, sig));
        assertFalse(Ed25519.verify(key, msg, Arrays.copyOf(sig, 63)));
        assertFalse(Ed25519.verify(key, msg, Arrays.copyOf(sig, 65)));
        assertFalse(Ed25519.verify(key, msg, new byte[64]));
        byte[] highS = sig.clone();
        Arrays.fill(highS, 32, 64, (byte) 0xff); // s >= L: non-canonical
        assertFalse(Ed25519.verify(key, msg, highS));
        // y = 2^255 - 1 >= p, and assorted points off the curve.
        assertFalse(Ed25519.verify("0x" + "ff".repeat(32), msg, sig));
        Random random = new Random(7);
        for (int i = 0; i < 32; i++) {
            byte[] junk = new byte[32];
            random.nextBytes(junk);
            assertFalse(Ed25519.verify(junk, msg, sig));
        }
        byte[] other = msg.clone();
        other[0] ^= 1;
        assertFalse(Ed25519.verify(key, other, sig));
    }

    @Test
    void keypairBasics() {
        assertThrows(IllegalArgumentException.class, () -> Keypair.fromSeed(new byte[31]));
        assertThrows(IllegalArgumentException.class, () -> Keypair.fromSeed(null));
        Keypair a = Keypair.generate();
        Keypair b = Keypair.generate();
        assertNotEquals(a, b);
        assertFalse(a.toString().contains(HEX.formatHex(a.seed())), "toString leaks the seed");
        byte[] seed = a.seed();
        seed[0] ^= 1;
        assertNotEquals(HEX.formatHex(seed), HEX.formatHex(a.seed()), "seed() must be a copy");
        byte[] pub = a.publicKeyBytes();
        pub[0] ^= 1;
        assertEquals(a.publicKeyHex(), Ed25519.toKeyHex(a.publicKeyBytes()));
    }

    /** Signing and verifying moved to Bouncy Castle: both must agree with the JDK's provider. */
    @Test
    void agreesWithTheJdkProviderBothWays() throws Exception {
        Random random = new Random(12);
        for (int i = 0; i < 20; i++) {
            byte[] seed = new byte[32];
            random.nextBytes(seed);
            byte[] message = new byte[random.nextInt(200)];
            random.nextBytes(message);
            Keypair k = Keypair.fromSeed(seed);
            var jdkGen = java.security.KeyPairGenerator.getInstance("Ed25519");
            var jdkSigner = java.security.Signature.getInstance("Ed25519");
            java.security.PublicKey jdkPublic = Ed25519.toPublicKey(k.publicKeyBytes());
            byte[] ours = k.sign(message);
            jdkSigner.initVerify(jdkPublic);
            jdkSigner.update(message);
            assertTrue(jdkSigner.verify(ours), "the JDK accepts our signature");
            var pair = jdkGen.generateKeyPair();
            jdkSigner.initSign(pair.getPrivate());
            jdkSigner.update(message);
            byte[] theirs = jdkSigner.sign();
            byte[] theirKey = Ed25519.encodePoint((java.security.interfaces.EdECPublicKey) pair.getPublic());
            assertTrue(Ed25519.verify(theirKey, message, theirs), "we accept the JDK's signature");
            theirs[i % 64] ^= 1;
            assertFalse(Ed25519.verify(theirKey, message, theirs), "a flipped bit is refused");
        }
    }
}
