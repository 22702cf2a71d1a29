package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.proto.Modality;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.ArrayPool;
import io.bittensor.tensor.TensorCodec;
import io.bittensor.tensor.TensorDecodeException;
import io.grpc.KnownLength;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class PooledMessageMarshallerTest {
    private static final TensorCodec CODEC = TensorCodec.defaults();

    /** A stream that says its length, as gRPC's do. */
    private static final class Known extends ByteArrayInputStream implements KnownLength {
        Known(byte[] b) {
            super(b);
        }
    }

    /** A stream that says one length and holds another. */
    private static final class Lying extends ByteArrayInputStream implements KnownLength {
        private final int said;

        Lying(byte[] b, int said) {
            super(b);
            this.said = said;
        }

        @Override
        public synchronized int available() {
            return said;
        }
    }

    private static TensorMessage message(INDArray x) {
        return TensorMessage.newBuilder().setVersion("0.0.0").setSynapseKey("k").setNounce(9)
                .addTensors(CODEC.encode(x, Modality.TENSOR)).build();
    }

    @Test
    void parsesWhatProtobufWritesAndGivesTheBufferBackOnClose() {
        ParseBuffers buffers = new ParseBuffers(1 << 20);
        PooledMessageMarshaller m = new PooledMessageMarshaller(buffers);
        TensorMessage sent = message(Nd4j.rand(DataType.FLOAT, 4, 1, 512));
        ReceivedMessage r = m.parse(new Known(sent.toByteArray()));
        assertEquals(sent, r.message());
        assertEquals(sent.getSerializedSize(), r.wireLength());
        assertEquals(0, buffers.idleBytes());
        r.close();
        r.close();
        assertEquals(ParseBuffers.sizeClass(sent.getSerializedSize()), buffers.idleBytes());
        assertThrows(IllegalStateException.class, r::message);
        // A stream without a length (not gRPC's): parsed, nothing borrowed.
        try (ReceivedMessage plain = m.parse(new ByteArrayInputStream(sent.toByteArray()))) {
            assertEquals(sent, plain.message());
        }
    }

    /**
     * The next message reuses the buffer; what was decoded from the first (pooled or fresh) is a
     * native copy and keeps its values.
     */
    @Test
    void decodedArraysDoNotAliasARecycledBuffer() {
        ParseBuffers buffers = new ParseBuffers(1 << 20);
        PooledMessageMarshaller m = new PooledMessageMarshaller(buffers);
        INDArray x1 = Nd4j.rand(DataType.FLOAT, 8, 1, 512);
        INDArray x2 = Nd4j.rand(DataType.FLOAT, 8, 1, 512).addi(5);
        try (ArrayPool arrays = new ArrayPool(1 << 20)) {
            ReceivedMessage r1 = m.parse(new Known(message(x1).toByteArray()));
            INDArray fresh = CODEC.decode(r1.message().getTensors(0));
            ArrayPool.PooledArray pooled = CODEC.decode(r1.message().getTensors(0), arrays);
            r1.close();
            ReceivedMessage r2 = m.parse(new Known(message(x2).toByteArray()));
            assertEquals(0, buffers.idleBytes(), "the second message took the first one's buffer");
            assertEquals(x2, CODEC.decode(r2.message().getTensors(0)));
            assertEquals(x1, fresh);
            assertEquals(x1, pooled.array());
            r2.close();
            pooled.close();
        }
    }

    @Test
    void malformedAndLyingStreamsAreRefusedAsInternalAndTheirBufferGoesBack() {
        ParseBuffers buffers = new ParseBuffers(1 << 20);
        PooledMessageMarshaller m = new PooledMessageMarshaller(buffers);
        byte[] wire = message(Nd4j.rand(DataType.FLOAT, 2, 1, 512)).toByteArray();
        byte[] random = new byte[5000];
        new Random(3).nextBytes(random);
        random[0] = (byte) 0xff; // an invalid tag
        byte[] lyingLength = {(byte) 0x0a, (byte) 0xff, (byte) 0xff, (byte) 0xff}; // field 1, length past the end
        for (java.io.InputStream bad : new java.io.InputStream[] {
            new Known(random), new Known(lyingLength),
            new Lying(wire, wire.length + 10), // ends before its stated length
            new Lying(wire, wire.length - 10), // goes on past it
            new Known(Arrays.copyOf(wire, wire.length - 1)), // a tensor cut short
        }) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> m.parse(bad));
            assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
        }
        assertTrue(buffers.idleBytes() > 0, "every refused parse gave its buffer back");
        try (ParseBuffers.Lease a = buffers.acquire(wire.length); ParseBuffers.Lease b = buffers.acquire(wire.length)) {
            assertTrue(a.array() != b.array());
        }
    }

    @Test
    void aTensorThatLiesAboutItsShapeParsesButIsRefusedByTheDecoder() {
        PooledMessageMarshaller m = new PooledMessageMarshaller(new ParseBuffers(1 << 20));
        TensorMessage giant = TensorMessage.newBuilder().addTensors(CODEC.encode(Nd4j.rand(DataType.FLOAT, 2, 1, 4),
                Modality.TENSOR).toBuilder().clearShape().addShape(1L << 40).addShape(1L << 40)).build();
        try (ReceivedMessage r = m.parse(new Known(giant.toByteArray()))) {
            TensorDecodeException e = assertThrows(TensorDecodeException.class,
                    () -> CODEC.decode(r.message().getTensors(0)));
            assertEquals(TensorDecodeException.Reason.TOO_LARGE, e.reason());
        }
    }

    @Test
    void theBufferIsReusedForTheSameShapeOfMessage() {
        ParseBuffers buffers = new ParseBuffers(1 << 20);
        PooledMessageMarshaller m = new PooledMessageMarshaller(buffers);
        TensorMessage a = message(Nd4j.rand(DataType.FLOAT, 64, 1, 512));
        ReceivedMessage r = m.parse(new Known(a.toByteArray()));
        r.close();
        ParseBuffers.Lease probe = buffers.acquire(a.getSerializedSize());
        byte[] first = probe.array();
        probe.close();
        try (ReceivedMessage r2 = m.parse(new Known(a.toByteArray()))) {
            assertEquals(0, buffers.idleBytes());
            ParseBuffers.Lease other = buffers.acquire(a.getSerializedSize());
            assertTrue(other.array() != first, "the buffer on loan to r2 is not handed out");
            other.close();
        }
        assertSame(first, buffers.acquire(a.getSerializedSize()).array());
    }
}
