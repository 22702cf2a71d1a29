package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.bittensor.proto.BittensorGrpc;
import io.bittensor.proto.DataType;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.grpc.KnownLength;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TensorMessageMarshallerTest {

    private static final TensorMessageMarshaller M = TensorMessageMarshaller.INSTANCE;

    private static TensorMessage message() {
        byte[] bytes = new byte[4 * 2 * 3 * 4];
        new Random(7).nextBytes(bytes);
        Tensor t = Tensor.newBuilder().setVersion("0.0.0").setDtype(DataType.FLOAT32)
                .setModality(Modality.TENSOR).addShape(2).addShape(3).addShape(4)
                .setBuffer(ByteString.copyFrom(bytes)).build();
        return TensorMessage.newBuilder().setVersion("0.0.0").setNeuronKey("0xabc")
                .setSynapseKey("syn").setNounce(42).addTensors(t).addTensors(t).build();
    }

    /** A stream that says its length, as gRPC's are. */
    private static final class Known extends ByteArrayInputStream implements KnownLength {
        Known(byte[] b) {
            super(b);
        }
    }

    @Test
    void writesTheSameBytesAsTheGeneratedMarshaller() throws IOException {
        TensorMessage m = message();
        byte[] ours = M.stream(m).readAllBytes();
        byte[] generated = BittensorGrpc.getForwardMethod().getRequestMarshaller().stream(m).readAllBytes();
        assertArrayEquals(m.toByteArray(), ours);
        assertArrayEquals(generated, ours);
    }

    @Test
    void parsesWhatItWrites() throws IOException {
        TensorMessage m = message();
        assertEquals(m, M.parse(new Known(m.toByteArray())));
        assertEquals(m, M.parse(new ByteArrayInputStream(m.toByteArray())));
    }

    @Test
    void parsedBuffersDoNotChangeWhenTheInputArrayIsReused() throws IOException {
        TensorMessage m = message();
        byte[] wire = m.toByteArray();
        InputStream in = new Known(wire);
        TensorMessage parsed = M.parse(in);
        java.util.Arrays.fill(wire, (byte) 0); // gRPC may reuse what it read from
        assertEquals(m, parsed);
    }

    @Test
    void malformedBytesFailAsGrpcsOwnMarshallerDoes() {
        byte[] junk = {(byte) 0x0a, (byte) 0xff, (byte) 0xff, (byte) 0xff}; // field 1, lying length
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> M.parse(new Known(junk)));
        assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
        byte[] random = new byte[256];
        new Random(1).nextBytes(random);
        random[0] = (byte) 0xff; // an invalid tag
        assertThrows(StatusRuntimeException.class, () -> M.parse(new Known(random)));
    }

    /** A known-length stream that hands out at most {@code piece} bytes a read, as gRPC's composite buffers may. */
    private static final class Pieces extends InputStream implements KnownLength {
        private final byte[] b;
        private final int said;
        private final int piece;
        private int pos;

        Pieces(byte[] b, int said, int piece) {
            this.b = b;
            this.said = said;
            this.piece = piece;
        }

        @Override
        public int available() {
            return Math.max(0, said - pos);
        }

        @Override
        public int read() {
            return pos < b.length ? b[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] dst, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (pos >= b.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, piece), b.length - pos);
            System.arraycopy(b, pos, dst, off, n);
            pos += n;
            return n;
        }
    }

    @Test
    void parsesAStreamThatArrivesInPieces() {
        TensorMessage m = message();
        byte[] wire = m.toByteArray();
        for (int piece : new int[] {1, 7, 100, wire.length}) {
            assertEquals(m, M.parse(new Pieces(wire, wire.length, piece)), "piece " + piece);
        }
    }

    @Test
    void aStreamShorterOrLongerThanItSaysIsRefused() {
        byte[] wire = message().toByteArray();
        StatusRuntimeException shorter = assertThrows(StatusRuntimeException.class,
                () -> M.parse(new Pieces(wire, wire.length + 1, 7)));
        assertEquals(Status.Code.INTERNAL, shorter.getStatus().getCode());
        StatusRuntimeException longer = assertThrows(StatusRuntimeException.class,
                () -> M.parse(new Pieces(wire, wire.length - 1, 7)));
        assertEquals(Status.Code.INTERNAL, longer.getStatus().getCode());
    }

    @Test
    void appliesToEveryMethodOfTheBittensorServiceOnly() {
        ServerServiceDefinition def = TensorMessageMarshaller.apply(
                new BittensorGrpc.BittensorImplBase() { }.bindService());
        assertEquals(2, def.getMethods().size());
        def.getMethods().forEach(m -> {
            assertEquals(M, m.getMethodDescriptor().getRequestMarshaller());
            assertEquals(M, m.getMethodDescriptor().getResponseMarshaller());
        });
        ServerServiceDefinition other = ServerServiceDefinition.builder("Other").build();
        assertThrows(IllegalArgumentException.class, () -> TensorMessageMarshaller.apply(other));
    }
}
