package io.bittensor.crypto;

import io.bittensor.proto.TensorMessage;
import io.bittensor.proto.TensorMessageOrBuilder;
import io.bittensor.proto.TensorOrBuilder;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * Our request signature on Forward/Backward requests (TensorMessage fields 4 and 5). The original
 * never signs requests; Python peers send none.
 *
 * <p>Digest = SHA-256 over, in order (integers as 8-byte big-endian, "str" = 8-byte length then
 * the bytes):
 * <pre>
 *   str("bittensor-request-v1")        domain tag: never valid as any other signed message
 *   str(UTF-8 neuron_key)              the caller
 *   str(UTF-8 synapse_key)             the target
 *   nounce                             microseconds since the Unix epoch
 *   count(tensors)
 *   per tensor: dtype, modality (enum numbers), requires_grad (1 byte 0/1),
 *               count(shape), each dim, length(buffer), buffer bytes
 * </pre>
 * Not covered: {@code version} strings (ignored by both peers) and reply-only fields 20/21.
 * The signature is Ed25519 over the digest by neuron_key. Big buffers are hashed in place
 * (no copy of the tensor bytes).
 */
public final class RequestSigner {

    /** The domain tag that starts every request digest. */
    public static final String DOMAIN = "bittensor-request-v1";

    private static final ByteString DOMAIN_BYTES = ByteString.copyFromUtf8(DOMAIN);

    private RequestSigner() {
    }

    /** The request digest (32 bytes) documented above. */
    public static byte[] digest(TensorMessageOrBuilder m) {
        MessageDigest sha = SynapseSigner.sha256();
        ByteBuffer scratch = ByteBuffer.allocate(Long.BYTES);
        putBytes(sha, scratch, DOMAIN_BYTES);
        putBytes(sha, scratch, m.getNeuronKeyBytes());
        putBytes(sha, scratch, m.getSynapseKeyBytes());
        putLong(sha, scratch, m.getNounce());
        putLong(sha, scratch, m.getTensorsCount());
        for (TensorOrBuilder t : m.getTensorsOrBuilderList()) {
            putLong(sha, scratch, t.getDtypeValue());
            putLong(sha, scratch, t.getModalityValue());
            sha.update(t.getRequiresGrad() ? (byte) 1 : (byte) 0);
            putLong(sha, scratch, t.getShapeCount());
            for (int i = 0; i < t.getShapeCount(); i++) {
                putLong(sha, scratch, t.getShape(i));
            }
            putBytes(sha, scratch, t.getBuffer());
        }
        return sha.digest();
    }

    /**
     * The request with neuron_key = the caller's key, nounce = {@code nounceMicros} and signature
     * set over the resulting digest. Sign last: any later change to the request breaks it.
     */
    public static TensorMessage sign(TensorMessage m, Keypair caller, long nounceMicros) {
        TensorMessage.Builder b = m.toBuilder().setNeuronKey(caller.publicKeyHex())
                .setNounce(nounceMicros).clearSignature();
        return b.setSignature(ByteString.copyFrom(caller.sign(digest(b)))).build();
    }

    /**
     * True when signature is neuron_key's valid Ed25519 signature of the digest. False, never an
     * exception, for a missing or malformed key or signature. (Freshness of the nounce is the
     * caller's business: {@link NonceWindow}.)
     */
    public static boolean verify(TensorMessageOrBuilder m) {
        if (m.getSignature().size() != Ed25519.SIGNATURE_BYTES
                || m.getNeuronKey().length() != 2 + 2 * Ed25519.PUBLIC_KEY_BYTES) {
            return false;
        }
        try {
            return Ed25519.verify(m.getNeuronKey(), digest(m), m.getSignature().toByteArray());
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static void putLong(MessageDigest sha, ByteBuffer scratch, long v) {
        scratch.clear();
        scratch.putLong(v);
        sha.update(scratch.array(), 0, Long.BYTES);
    }

    private static void putBytes(MessageDigest sha, ByteBuffer scratch, ByteString bytes) {
        putLong(sha, scratch, bytes.size());
        SynapseSigner.update(sha, bytes);
    }
}
