package io.bittensor.metagraph;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.Ed25519;
import io.bittensor.crypto.Keypair;
import io.bittensor.proto.GossipBatch;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * Challenge and answer that prove which neuron answers at a gossip address (GossipBatch fields
 * 22–24): the caller sends random bytes, the replier signs them with its neuron key. Unforgeable
 * and not replayable, so a peer cannot claim another's identity to push it out of our peer set.
 */
final class GossipIdentity {
    static final int CHALLENGE_BYTES = 16;
    private static final byte[] LABEL =
            "bittensor-java gossip identity v1\0".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private GossipIdentity() {
    }

    static ByteString challenge() {
        byte[] c = new byte[CHALLENGE_BYTES];
        RANDOM.nextBytes(c);
        return ByteString.copyFrom(c);
    }

    /** Adds our answer to {@code reply} if {@code request} carries a well-formed challenge. */
    static GossipBatch answer(GossipBatch reply, GossipBatch request, Keypair keypair) {
        ByteString c = request.getIdentityChallenge();
        if (c.size() != CHALLENGE_BYTES) {
            return reply; // none (a Python peer), or malformed: answer as the original would
        }
        return reply.toBuilder().setNeuronKey(keypair.publicKeyHex())
                .setIdentitySignature(ByteString.copyFrom(keypair.sign(message(c)))).build();
    }

    /** The neuron key {@code reply} proves for {@code challenge}, or null (none, or invalid). */
    static String proven(ByteString challenge, GossipBatch reply) {
        String key = reply.getNeuronKey();
        ByteString sig = reply.getIdentitySignature();
        if (key.isEmpty() || key.length() != 66 || sig.size() != Ed25519.SIGNATURE_BYTES) {
            return null;
        }
        // verify() is false for a malformed key; the canonical form keeps one key one string.
        return Ed25519.verify(key, message(challenge), sig.toByteArray())
                ? key.toLowerCase(java.util.Locale.ROOT) : null;
    }

    private static byte[] message(ByteString challenge) {
        byte[] m = new byte[LABEL.length + challenge.size()];
        System.arraycopy(LABEL, 0, m, 0, LABEL.length);
        challenge.copyTo(m, LABEL.length);
        return m;
    }
}
