package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.NativeTensor;
import io.bittensor.tensor.TensorCodec;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class OutgoingMessageTest {
    private static final TensorCodec CODEC = TensorCodec.defaults();

    private static TensorMessage fullHeader(Random r) {
        byte[] sig = new byte[64];
        r.nextBytes(sig);
        return TensorMessage.newBuilder().setVersion("0.0.0").setNeuronKey("0x" + "ab".repeat(32))
                .setSynapseKey("0x" + "cd".repeat(32)).setNounce(1_764_000_000_000_000L + r.nextInt(1000))
                .setSignature(ByteString.copyFrom(sig)).setReturnCode(ReturnCode.OK)
                .setReturnMessage("fine")
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(7).build())
                        .addField(3000, UnknownFieldSet.Field.newBuilder()
                                .addLengthDelimited(ByteString.copyFromUtf8("future")).build())
                        .build())
                .build();
    }

    /** What the stream writes, drained as gRPC drains it. */
    private static byte[] drained(OutgoingMessage m) throws IOException {
        InputStream in = m.stream();
        assertTrue(in instanceof Drainable && in instanceof KnownLength);
        int said = in.available();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int n = ((Drainable) in).drainTo(out);
        assertEquals(said, n, "drainTo returns what available() said");
        assertEquals(n, out.size());
        assertEquals(0, in.available());
        return out.toByteArray();
    }

    @Test
    void writesExactlyProtobufsBytesForEveryKindOfTensorAndHeader() throws IOException {
        Random r = new Random(5);
        INDArray dense = Nd4j.rand(DataType.FLOAT, 4, 3, 512);
        INDArray doubles = Nd4j.rand(DataType.DOUBLE, 2, 1, 7);
        INDArray fOrder = Nd4j.rand(DataType.FLOAT, 3, 2, 5).dup('f');
        INDArray view = Nd4j.rand(DataType.FLOAT, 6, 2, 5).get(NDArrayIndex.interval(1, 4),
                NDArrayIndex.all(), NDArrayIndex.all());
        INDArray longs = Nd4j.createFromArray(new long[][] {{1, 2, 3}, {4, 5, 6}});
        INDArray empty = Nd4j.create(DataType.FLOAT, 0, 1, 512);
        INDArray scalar = Nd4j.scalar(3.5f);
        List<List<NativeTensor>> cases = List.of(
                List.of(CODEC.encodeNative(dense, Modality.TENSOR, false)),
                List.of(CODEC.encodeNative(doubles, Modality.TENSOR, true)),
                List.of(CODEC.encodeNative(fOrder, Modality.IMAGE, true)),
                List.of(CODEC.encodeNative(view, Modality.TENSOR, false)),
                List.of(CODEC.encodeNative(longs, Modality.TEXT, true)),
                List.of(CODEC.encodeNative(empty, Modality.TENSOR, false)),
                List.of(CODEC.encodeNative(scalar, Modality.TENSOR, false)),
                List.of(CODEC.encodeNative(dense, Modality.TENSOR, false, DataType.DOUBLE)),
                List.of(CODEC.encodeNative(dense, Modality.TENSOR, false),
                        CODEC.encodeNative(view, Modality.TENSOR, true),
                        CODEC.encodeNative(empty, Modality.TENSOR, false)));
        for (TensorMessage header : List.of(fullHeader(r), TensorMessage.getDefaultInstance(),
                TensorMessage.newBuilder().setVersion("0.0.0").setReturnCode(ReturnCode.MODEL_ERROR).build())) {
            for (List<NativeTensor> tensors : cases) {
                OutgoingMessage m = OutgoingMessage.of(header, tensors);
                TensorMessage.Builder expected = header.toBuilder();
                for (NativeTensor t : tensors) {
                    expected.addTensors(t.toTensor());
                }
                byte[] want = expected.build().toByteArray();
                assertArrayEquals(want, drained(m));
                assertArrayEquals(want, m.stream().readAllBytes(), "read byte-wise, from a copy");
                assertEquals(want.length, m.serializedSize());
                assertEquals(expected.build(), TensorMessage.parseFrom(drained(m)));
            }
        }
    }

    @Test
    void nativeBytesAreTheEncodersBytes() {
        INDArray a = Nd4j.rand(DataType.FLOAT, 64, 1, 512);
        INDArray v = Nd4j.rand(DataType.FLOAT, 5, 4, 512).get(NDArrayIndex.all(), NDArrayIndex.point(2),
                NDArrayIndex.all()).reshape(5, 1, 512);
        for (INDArray x : List.of(a, v, a.dup('f'))) {
            for (Modality mod : List.of(Modality.TENSOR, Modality.IMAGE, Modality.TEXT)) {
                try (NativeTensor t = CODEC.encodeNative(x, mod, true)) {
                    assertEquals(CODEC.encode(x, mod, true), t.toTensor());
                }
            }
        }
    }

    @Test
    void aMessageWithoutNativeTensorsIsProtobufsOwn() throws IOException {
        TensorMessage m = fullHeader(new Random(2)).toBuilder()
                .addTensors(CODEC.encode(Nd4j.rand(DataType.FLOAT, 2, 1, 512), Modality.TENSOR)).build();
        OutgoingMessage out = OutgoingMessage.of(m);
        assertArrayEquals(m.toByteArray(), drained(out));
        assertEquals(m, out.toMessage());
        assertEquals(1, out.tensorCount());
        assertThrows(IllegalArgumentException.class, () -> OutgoingMessage.of(m,
                List.of(CODEC.encodeNative(Nd4j.rand(DataType.FLOAT, 1, 1, 4), Modality.TENSOR, false))));
    }

    @Test
    void closeFreesPrivateCopiesOnlyAndAClosedTensorRefusesToWrite() throws IOException {
        INDArray callers = Nd4j.rand(DataType.FLOAT, 2, 3, 8);
        INDArray fOrder = callers.dup('f');
        List<NativeTensor> tensors = new ArrayList<>();
        tensors.add(CODEC.encodeNative(callers, Modality.TENSOR, false));
        tensors.add(CODEC.encodeNative(fOrder, Modality.TENSOR, false)); // a private C copy
        OutgoingMessage m = OutgoingMessage.of(TensorMessage.getDefaultInstance(), tensors);
        byte[] before = drained(m);
        m.close();
        m.close();
        assertFalse(callers.wasClosed(), "the caller's array is the caller's");
        assertFalse(fOrder.wasClosed());
        assertThrows(IllegalStateException.class, () -> tensors.get(0).writeBuffer(new ByteArrayOutputStream(),
                new byte[16]));
        assertTrue(before.length > 2 * 2 * 3 * 8 * 4);
    }

    @Test
    void aChunkSmallerThanTheTensorWritesTheSameBytes() throws IOException {
        INDArray a = Nd4j.rand(DataType.FLOAT, 3, 7, 11);
        try (NativeTensor t = CODEC.encodeNative(a, Modality.TENSOR, false)) {
            for (int chunk : new int[] {1, 3, 64, 1 << 16}) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                t.writeBuffer(out, new byte[chunk]);
                assertEquals(CODEC.encode(a, Modality.TENSOR).getBuffer(), ByteString.copyFrom(out.toByteArray()));
            }
        }
    }
}
