package io.bittensor.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.proto.DataType;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class RequestSignerTest {

    private static final Keypair CALLER = Keypair.generate();
    private static final long NOUNCE = 1_700_000_000_000_000L;

    private static TensorMessage request() {
        byte[] buf = new byte[2 * 3 * 4 * 4];
        new Random(1).nextBytes(buf);
        Tensor t = Tensor.newBuilder().setVersion("0.0.0").setBuffer(ByteString.copyFrom(buf))
                .addShape(2).addShape(3).addShape(4).setDtype(DataType.FLOAT32)
                .setModality(Modality.TENSOR).build();
        return TensorMessage.newBuilder().setVersion("0.0.0").setSynapseKey("0x" + "aa".repeat(32))
                .addTensors(t).build();
    }

    @Test
    void signedRequestVerifies() {
        TensorMessage m = RequestSigner.sign(request(), CALLER, NOUNCE);
        assertEquals(CALLER.publicKeyHex(), m.getNeuronKey());
        assertEquals(NOUNCE, m.getNounce());
        assertEquals(64, m.getSignature().size());
        assertTrue(RequestSigner.verify(m));
        // Versions are not covered (documented), so a peer rewriting them does not break it.
        assertTrue(RequestSigner.verify(m.toBuilder().setVersion("9").build()));
    }

    /** The digest as docs/crypto.md describes it, written out independently. */
    @Test
    void digestFollowsTheDocumentedLayout() throws Exception {
        TensorMessage m = RequestSigner.sign(request(), CALLER, NOUNCE);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        ByteBuffer b = ByteBuffer.allocate(4096);
        for (String s : new String[] {"bittensor-request-v1", m.getNeuronKey(), m.getSynapseKey()}) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            b.putLong(u.length).put(u);
        }
        b.putLong(m.getNounce()).putLong(1);
        Tensor t = m.getTensors(0);
        b.putLong(1).putLong(0).put((byte) 0).putLong(3).putLong(2).putLong(3).putLong(4)
                .putLong(t.getBuffer().size()).put(t.getBuffer().toByteArray());
        sha.update(b.array(), 0, b.position());
        assertArrayEquals(sha.digest(), RequestSigner.digest(m));
    }

    /** Buffers are hashed where they lie: a rope, a slice or an aliased parse hash as one array. */
    @Test
    void digestIsTheSameWhateverHoldsTheBuffer() throws Exception {
        TensorMessage m = RequestSigner.sign(request(), CALLER, NOUNCE);
        byte[] expected = RequestSigner.digest(m);
        byte[] buf = m.getTensors(0).getBuffer().toByteArray();
        ByteString rope = ByteString.copyFrom(buf, 0, 40).concat(ByteString.copyFrom(buf, 40, 30))
                .concat(ByteString.copyFrom(buf, 70, buf.length - 70));
        byte[] padded = new byte[buf.length + 10];
        System.arraycopy(buf, 0, padded, 5, buf.length);
        ByteString slice = ByteString.copyFrom(padded).substring(5, 5 + buf.length);
        for (ByteString b : List.of(rope, slice)) {
            TensorMessage other = m.toBuilder()
                    .setTensors(0, m.getTensors(0).toBuilder().setBuffer(b)).build();
            assertArrayEquals(expected, RequestSigner.digest(other));
            assertTrue(RequestSigner.verify(other));
        }
        com.google.protobuf.CodedInputStream in = com.google.protobuf.CodedInputStream.newInstance(
                m.toByteArray());
        in.enableAliasing(true);
        assertArrayEquals(expected, RequestSigner.digest(TensorMessage.parseFrom(in)));
    }

    private static final List<UnaryOperator<TensorMessage.Builder>> TAMPERS = List.of(
            b -> b.setSynapseKey("0x" + "bb".repeat(32)),
            b -> b.setNounce(NOUNCE + 1),
            b -> b.setNeuronKey(Keypair.generate().publicKeyHex()),
            b -> b.setTensors(0, b.getTensors(0).toBuilder().setShape(0, 3).setShape(1, 2)),
            b -> b.setTensors(0, b.getTensors(0).toBuilder().addShape(1)),
            b -> b.setTensors(0, b.getTensors(0).toBuilder().setDtype(DataType.INT32)),
            b -> b.setTensors(0, b.getTensors(0).toBuilder().setModality(Modality.IMAGE)),
            b -> b.setTensors(0, b.getTensors(0).toBuilder().setRequiresGrad(true)),
            b -> {
                byte[] buf = b.getTensors(0).getBuffer().toByteArray();
                buf[buf.length - 1] ^= 1;
                return b.setTensors(0, b.getTensors(0).toBuilder()
                        .setBuffer(ByteString.copyFrom(buf)));
            },
            b -> b.addTensors(b.getTensors(0)),
            b -> b.clearTensors());

    @Test
    void anyTamperFails() {
        TensorMessage m = RequestSigner.sign(request(), CALLER, NOUNCE);
        for (int i = 0; i < TAMPERS.size(); i++) {
            assertFalse(RequestSigner.verify(TAMPERS.get(i).apply(m.toBuilder()).build()),
                    "tamper #" + i);
        }
    }

    @Test
    void malformedKeyOrSignatureIsFalseNotAnException() {
        TensorMessage m = RequestSigner.sign(request(), CALLER, NOUNCE);
        assertFalse(RequestSigner.verify(request()), "unsigned");
        for (String key : new String[] {"", "0x", "0x" + "zz".repeat(32), "0x" + "ff".repeat(32),
            "x".repeat(10_000)}) {
            assertFalse(RequestSigner.verify(m.toBuilder().setNeuronKey(key).build()), key);
        }
        for (int len : new int[] {0, 1, 63, 65, 4096}) {
            assertFalse(RequestSigner.verify(m.toBuilder()
                    .setSignature(ByteString.copyFrom(new byte[len])).build()), "sig " + len);
        }
        // A signature by another key under the claimed key.
        Keypair other = Keypair.generate();
        TensorMessage byOther = RequestSigner.sign(request(), other, NOUNCE);
        assertFalse(RequestSigner.verify(byOther.toBuilder().setNeuronKey(CALLER.publicKeyHex())
                .build()));
        // Unknown enum numbers and absurd shapes still hash (verify is false, no exception).
        TensorMessage weird = m.toBuilder().setTensors(0, m.getTensors(0).toBuilder()
                .setDtypeValue(99).setModalityValue(-7).addShape(Long.MIN_VALUE)).build();
        assertFalse(RequestSigner.verify(weird));
        assertTrue(RequestSigner.verify(RequestSigner.sign(weird, CALLER, NOUNCE)));
    }

    @Test
    void resigningReplacesTheOldSignature() {
        TensorMessage once = RequestSigner.sign(request(), CALLER, NOUNCE);
        TensorMessage twice = RequestSigner.sign(once, CALLER, NOUNCE + 5);
        assertTrue(RequestSigner.verify(twice));
        assertEquals(NOUNCE + 5, twice.getNounce());
    }
}
