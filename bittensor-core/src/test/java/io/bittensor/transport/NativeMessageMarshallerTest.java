package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.NativeBuffers;
import io.bittensor.tensor.TensorCodec;
import io.bittensor.tensor.TensorDecodeException;
import io.bittensor.tensor.WireTensor;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class NativeMessageMarshallerTest {
    private static final TensorCodec CODEC = TensorCodec.defaults();

    /**
     * What gRPC hands a marshaller: a known length, and (optionally) its received bytes lent as
     * direct buffers of {@code piece} bytes at a time ({@link HasByteBuffer}), as Netty's are.
     */
    private static final class GrpcLike extends InputStream implements KnownLength, HasByteBuffer {
        private final ByteBuffer bytes;
        private final int said;
        private final int piece;
        private final boolean lends;

        GrpcLike(byte[] b, int said, int piece, boolean lends) {
            this.bytes = ByteBuffer.allocateDirect(b.length).put(b).flip();
            this.said = said;
            this.piece = piece;
            this.lends = lends;
        }

        GrpcLike(byte[] b) {
            this(b, b.length, 16 * 1024, true);
        }

        @Override
        public int available() { // what it says is left, true or not
            return Math.max(0, said - bytes.position());
        }

        @Override
        public int read() {
            return bytes.hasRemaining() ? bytes.get() & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (!bytes.hasRemaining()) {
                return -1;
            }
            int n = Math.min(len, bytes.remaining());
            bytes.get(b, off, n);
            return n;
        }

        @Override
        public long skip(long n) {
            int k = (int) Math.min(n, bytes.remaining());
            bytes.position(bytes.position() + k);
            return k;
        }

        @Override
        public boolean byteBufferSupported() {
            return lends;
        }

        @Override
        public ByteBuffer getByteBuffer() {
            if (!bytes.hasRemaining()) {
                return null;
            }
            ByteBuffer d = bytes.duplicate();
            return d.limit(Math.min(d.limit(), d.position() + piece)).slice().asReadOnlyBuffer();
        }
    }

    private static TensorMessage message(INDArray... xs) {
        TensorMessage.Builder b = TensorMessage.newBuilder().setVersion("0.0.0").setSynapseKey("k")
                .setNeuronKey("0xabc").setNounce(9).setSignature(ByteString.copyFrom(new byte[64]))
                .setReturnCode(ReturnCode.OK).setReturnMessage("fine");
        for (INDArray x : xs) {
            b.addTensors(CODEC.encode(x, Modality.TENSOR, true));
        }
        return b.build();
    }

    @Test
    void parsesWhatProtobufParsesWithTheBytesInNativeBlocks() {
        try (NativeBuffers blocks = new NativeBuffers(1 << 22)) {
            NativeMessageMarshaller m = new NativeMessageMarshaller(blocks);
            INDArray a = Nd4j.rand(DataType.FLOAT, 4, 3, 512);
            INDArray b = Nd4j.rand(DataType.DOUBLE, 2, 5);
            TensorMessage sent = message(a, b);
            for (boolean lends : new boolean[] {true, false}) {
                for (int piece : new int[] {1, 7, 4096, 1 << 20}) {
                    byte[] wire = sent.toByteArray();
                    try (ReceivedMessage r = m.parse(new GrpcLike(wire, wire.length, piece, lends))) {
                        assertTrue(r.isNative());
                        assertEquals(sent, r.message());
                        assertEquals(wire.length, r.wireLength());
                        assertEquals(sent.toBuilder().clearTensors().addTensors(
                                sent.getTensors(0).toBuilder().clearBuffer()).addTensors(
                                sent.getTensors(1).toBuilder().clearBuffer()).build(), r.header());
                        assertEquals(a, CODEC.decodeView(r.tensor(0)));
                        assertEquals(b, CODEC.decodeView(r.tensor(1)));
                    }
                }
            }
            assertEquals(0, blocks.lent(), "closing the message gave the blocks back");
            assertTrue(blocks.idleBytes() > 0);
        }
    }

    @Test
    void closingTheMessageReleasesViewsUnlessTheTensorWasTaken() {
        try (NativeBuffers blocks = new NativeBuffers(1 << 22)) {
            NativeMessageMarshaller m = new NativeMessageMarshaller(blocks);
            INDArray a = Nd4j.rand(DataType.FLOAT, 2, 1, 512);
            byte[] wire = message(a, a).toByteArray();
            ReceivedMessage r = m.parse(new GrpcLike(wire));
            INDArray released = CODEC.decodeView(r.tensor(0));
            WireTensor taken = r.take(1);
            INDArray kept = CODEC.decodeView(taken);
            r.close();
            assertThrows(IllegalStateException.class, () -> released.getFloat(0, 0, 0));
            assertThrows(IllegalStateException.class, r::message);
            assertThrows(IllegalStateException.class, () -> r.tensor(1));
            assertEquals(a, kept, "a taken tensor outlives its message");
            assertEquals("k", r.header().getSynapseKey(), "header fields are copies");
            taken.close();
            assertThrows(IllegalStateException.class, () -> kept.getFloat(0, 0, 0));
        }
    }

    /** Unknown fields, a repeated buffer (last wins), groups, wrong wire types: as protobuf. */
    @Test
    void oddButValidEncodingsParseAsProtobufParsesThem() throws IOException {
        ByteArrayOutputStream tensor = new ByteArrayOutputStream();
        CodedOutputStream t = CodedOutputStream.newInstance(tensor);
        t.writeBytes(2, ByteString.copyFrom(new byte[8])); // replaced by the next buffer field
        t.writeUInt64(3, 2);
        t.writeEnum(4, 1); // FLOAT32
        t.writeBytes(2, ByteString.copyFrom(new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40}));
        t.writeUInt64(99, 12345); // unknown varint
        t.writeFixed32(98, 7); // unknown fixed32
        t.writeFixed64(97, 8); // unknown fixed64
        t.writeTag(96, 3); // an unknown group, nested
        t.writeTag(95, 3);
        t.writeUInt64(1, 5);
        t.writeTag(95, 4);
        t.writeBytes(2, ByteString.copyFrom(new byte[] {1})); // inside the group: not the buffer
        t.writeTag(96, 4);
        t.writeUInt64(2, 77); // field 2 as a varint: an unknown field, not the buffer
        t.flush();
        ByteArrayOutputStream msg = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(msg);
        o.writeString(3, "syn");
        o.writeByteArray(6, tensor.toByteArray());
        o.writeUInt64(6, 3); // field 6 as a varint: unknown
        o.writeString(100, "future field");
        o.writeByteArray(6, new byte[0]); // an empty tensor
        o.writeString(3, "last synapse key wins");
        o.flush();
        byte[] wire = msg.toByteArray();
        TensorMessage expected = TensorMessage.parseFrom(wire);
        try (NativeBuffers blocks = new NativeBuffers(1 << 20);
             ReceivedMessage r = new NativeMessageMarshaller(blocks).parse(new GrpcLike(wire))) {
            assertEquals(expected, r.message());
            assertEquals(2, r.header().getTensorsCount());
            INDArray v = CODEC.decodeView(r.tensor(0));
            assertEquals(Nd4j.createFromArray(1f, 2f), v);
            assertEquals(0, r.tensor(1).byteLength());
        }
    }

    @Test
    void malformedBytesAreRefusedAndNothingIsHeld() {
        TensorMessage sent = message(Nd4j.rand(DataType.FLOAT, 2, 1, 512));
        byte[] wire = sent.toByteArray();
        Random rnd = new Random(3);
        try (NativeBuffers blocks = new NativeBuffers(1 << 22)) {
            NativeMessageMarshaller m = new NativeMessageMarshaller(blocks);
            // the stream says more than it holds, or less
            assertInternal(() -> m.parse(new GrpcLike(wire, wire.length + 10, 4096, true)), blocks);
            assertInternal(() -> m.parse(new GrpcLike(wire, wire.length - 10, 4096, true)), blocks);
            // truncated inside the tensor's bytes, and a tensor length past the message
            byte[] cut = Arrays.copyOf(wire, wire.length - 100);
            assertInternal(() -> m.parse(new GrpcLike(cut)), blocks);
            // random bytes: refused exactly when protobuf refuses them, and then nothing is held
            int refused = 0;
            for (int i = 0; i < 300; i++) {
                byte[] junk = new byte[1 + rnd.nextInt(200)];
                rnd.nextBytes(junk);
                boolean protobufTakesIt;
                try {
                    TensorMessage.parseFrom(junk);
                    protobufTakesIt = true;
                } catch (InvalidProtocolBufferException e) {
                    protobufTakesIt = false;
                }
                if (protobufTakesIt) {
                    try (ReceivedMessage r = m.parse(new GrpcLike(junk))) {
                        assertEquals(parse(junk), r.message());
                    }
                } else {
                    refused++;
                    assertInternal(() -> m.parse(new GrpcLike(junk)), blocks);
                }
            }
            assertTrue(refused > 100, "most random bytes are not a message: " + refused);
            // every byte flipped once in a real message: same verdicts as protobuf
            for (int i = 0; i < 40; i++) {
                byte[] flipped = wire.clone();
                flipped[i] ^= (byte) (1 + rnd.nextInt(255));
                TensorMessage p;
                try {
                    p = TensorMessage.parseFrom(flipped);
                } catch (InvalidProtocolBufferException e) {
                    assertInternal(() -> m.parse(new GrpcLike(flipped)), blocks);
                    continue;
                }
                try (ReceivedMessage r = m.parse(new GrpcLike(flipped))) {
                    assertEquals(p, r.message());
                }
            }
        }
    }

    /** A tensor whose header lies about its buffer's length is refused by the decoder, not the parser. */
    @Test
    void aLyingTensorLengthIsADecodeRefusal() {
        Tensor good = CODEC.encode(Nd4j.ones(DataType.FLOAT, 2, 3), Modality.TENSOR);
        TensorMessage lie = TensorMessage.newBuilder().addTensors(good.toBuilder()
                .setBuffer(good.getBuffer().substring(0, 23))).build();
        TensorMessage giant = TensorMessage.newBuilder().addTensors(good.toBuilder().clearShape()
                .addShape(1L << 31).addShape(1L << 31)).build();
        try (NativeBuffers blocks = new NativeBuffers(1 << 20)) {
            NativeMessageMarshaller m = new NativeMessageMarshaller(blocks);
            try (ReceivedMessage r = m.parse(new GrpcLike(lie.toByteArray()))) {
                assertEquals(TensorDecodeException.Reason.LENGTH_MISMATCH,
                        assertThrows(TensorDecodeException.class, () -> CODEC.decodeView(r.tensor(0))).reason());
            }
            try (ReceivedMessage r = m.parse(new GrpcLike(giant.toByteArray()))) {
                assertEquals(TensorDecodeException.Reason.TOO_LARGE,
                        assertThrows(TensorDecodeException.class, () -> CODEC.decodeView(r.tensor(0))).reason());
            }
        }
    }

    private static TensorMessage parse(byte[] b) {
        try {
            return TensorMessage.parseFrom(b);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertInternal(org.junit.jupiter.api.function.Executable parse, NativeBuffers blocks) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, parse);
        assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
        assertEquals(0, blocks.lent(), "whatever the refused message borrowed went back");
    }
}
