package io.bittensor.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import io.bittensor.tensor.TensorDecodeException.Reason;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class TensorCodecTest {

    private final TensorCodec codec = TensorCodec.defaults();

    private static Tensor.Builder valid(long... shape) {
        long n = TestArrays.product(shape);
        return Tensor.newBuilder().setVersion("0.0.0").setDtype(io.bittensor.proto.DataType.FLOAT32)
                .setBuffer(ByteString.copyFrom(new byte[(int) n * 4]))
                .addAllShape(java.util.Arrays.stream(shape).boxed().toList());
    }

    private TensorDecodeException rejects(Reason reason, Tensor t, TensorCodec c,
                                          String... mentions) {
        TensorDecodeException e = assertThrows(TensorDecodeException.class, () -> c.decode(t));
        assertEquals(reason, e.reason(), e.getMessage());
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), "'" + e.getMessage() + "' names " + m);
        }
        return e;
    }

    // ------------------------------------------------------------------------ hostile headers

    @Test
    void unknownDtypesAreRejected() {
        rejects(Reason.UNKNOWN_DTYPE, valid(1).setDtype(io.bittensor.proto.DataType.UNKNOWN)
                .build(), codec, "UNKNOWN");
        rejects(Reason.UNKNOWN_DTYPE, valid(1).setDtype(io.bittensor.proto.DataType.UTF8)
                .build(), codec, "UTF8");
        rejects(Reason.UNKNOWN_DTYPE, valid(1).setDtypeValue(77).build(), codec, "77");
        rejects(Reason.UNKNOWN_DTYPE, valid(1).setDtypeValue(-3).build(), codec, "-3");
    }

    @Test
    void unknownModalityIsRejected() {
        rejects(Reason.UNKNOWN_MODALITY, valid(1).setModalityValue(3).build(), codec, "3");
        rejects(Reason.UNKNOWN_MODALITY, valid(1).setModalityValue(-1).build(), codec, "-1");
    }

    @Test
    void imageMustBeFloat32() {
        Tensor t = valid(1, 1, 1, 1, 2).setModality(Modality.IMAGE)
                .setDtype(io.bittensor.proto.DataType.INT32).build();
        rejects(Reason.UNKNOWN_DTYPE, t, codec, "IMAGE", "INT32");
        assertArrayEquals(new long[] {1, 1, 1, 1, 2},
                codec.decode(t.toBuilder().setDtype(io.bittensor.proto.DataType.FLOAT32).build())
                        .shape());
    }

    @Test
    void negativeDimensionIsBadShape() {
        rejects(Reason.BAD_SHAPE, valid().addShape(2).addShape(-5).build(), codec, "-5", "1");
    }

    @Test
    void rankAboveLimitIsBadShape() {
        Tensor.Builder b = valid();
        for (int i = 0; i < 9; i++) {
            b.addShape(1);
        }
        b.setBuffer(ByteString.copyFrom(new byte[4]));
        rejects(Reason.BAD_SHAPE, b.build(), codec, "9", "8");
        assertEquals(9, new TensorCodec(new TensorLimits(10, 9)).decode(b.build()).rank());
    }

    @Test
    void tooManyElementsIsRejectedWithoutAllocating() {
        // 2^20 x 2^20 floats would be 4 TiB; the header alone must not allocate any of it.
        rejects(Reason.TOO_LARGE, valid().addShape(1L << 20).addShape(1L << 20).build(), codec,
                "1099511627776", Long.toString(TensorLimits.DEFAULT.maxElements()));
        rejects(Reason.TOO_LARGE, valid().addShape(Long.MAX_VALUE).build(), codec,
                Long.toString(Long.MAX_VALUE));
        // A huge dimension is refused even where a zero makes the product empty.
        rejects(Reason.TOO_LARGE, valid().addShape(0).addShape(1L << 40).build(), codec,
                Long.toString(1L << 40));
        TensorCodec small = new TensorCodec(new TensorLimits(100, 8));
        rejects(Reason.TOO_LARGE, valid(11, 10).build(), small, "110", "100");
        assertEquals(100, small.decode(valid(10, 10).build()).length());
    }

    @Test
    void productOverflowIsTooLarge() {
        TensorCodec unbounded = new TensorCodec(new TensorLimits(Long.MAX_VALUE, 8));
        rejects(Reason.TOO_LARGE, valid().addShape(1L << 32).addShape(1L << 32).build(),
                unbounded, "4294967296");
        rejects(Reason.TOO_LARGE,
                valid().addShape(3).addShape(Long.MAX_VALUE / 2).build(), unbounded);
    }

    @Test
    void bufferLengthMustMatchShape() {
        rejects(Reason.LENGTH_MISMATCH,
                valid(2, 3).setBuffer(ByteString.copyFrom(new byte[23])).build(), codec,
                "23", "24", "[2, 3]");
        rejects(Reason.LENGTH_MISMATCH,
                valid(2, 3).setBuffer(ByteString.copyFrom(new byte[25])).build(), codec, "25");
        rejects(Reason.LENGTH_MISMATCH, valid(0, 1, 512)
                .setBuffer(ByteString.copyFrom(new byte[4])).build(), codec, "4", "0");
        rejects(Reason.LENGTH_MISMATCH, valid(2).setDtype(io.bittensor.proto.DataType.INT64)
                .build(), codec, "8", "16");
    }

    @Test
    void limitsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new TensorLimits(-1, 8));
        assertThrows(IllegalArgumentException.class, () -> new TensorLimits(1, -1));
        assertThrows(IllegalArgumentException.class, () -> new TensorLimits(1, 33));
        assertEquals(64L * 1024 * 1024, TensorLimits.DEFAULT.maxElements());
        assertEquals(8, TensorLimits.DEFAULT.maxRank());
    }

    @Test
    void inspectReportsTheHeaderWithoutDecoding() {
        TensorCodec.Header h = codec.inspect(valid(2, 3).setModality(Modality.TEXT)
                .setDtype(io.bittensor.proto.DataType.INT32).setBuffer(ByteString.copyFrom(
                        new byte[24])).build());
        assertEquals(DataType.INT, h.dataType());
        assertEquals(Modality.TEXT, h.modality());
        assertArrayEquals(new long[] {2, 3}, h.shape());
        assertEquals(6, h.elementCount());
    }

    // -------------------------------------------------------------------------------- encode

    @Test
    void encodeWritesHeaderFields() {
        Tensor t = codec.encode(Nd4j.createFromArray(1.5f, -2f).reshape(1, 1, 2), Modality.TENSOR,
                true);
        assertEquals("0.0.0", t.getVersion());
        assertEquals(io.bittensor.proto.DataType.FLOAT32, t.getDtype());
        assertEquals(Modality.TENSOR, t.getModality());
        assertTrue(t.getRequiresGrad());
        assertEquals(java.util.List.of(1L, 1L, 2L), t.getShapeList());
        assertArrayEquals(TestArrays.littleEndian(new float[] {1.5f, -2f}),
                t.getBuffer().toByteArray());
        assertFalse(codec.encode(Nd4j.createFromArray(1f), Modality.TENSOR).getRequiresGrad());
    }

    @Test
    void viewsAndOrdersEncodeTheirLogicalCOrder() {
        float[] all = new float[3 * 4 * 5];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        INDArray base = Nd4j.createFromArray(all).reshape(3, 4, 5);
        INDArray row = base.get(NDArrayIndex.point(1)); // offset view
        INDArray strided = base.get(NDArrayIndex.all(), NDArrayIndex.point(2)); // [3, 5], gaps
        INDArray fOrder = base.dup('f');
        INDArray permuted = base.permute(2, 0, 1);
        for (INDArray view : new INDArray[] {row, strided, fOrder, permuted}) {
            Object expected = TestArrays.valuesOf(view.dup('c'));
            byte[] want = TestArrays.littleEndian(expected);
            assertArrayEquals(want, codec.encode(view, Modality.TENSOR).getBuffer().toByteArray());
            INDArray back = codec.decode(codec.encode(view, Modality.TENSOR));
            assertArrayEquals(view.shape(), back.shape());
            assertTrue(back.equals(view));
        }
    }

    @Test
    void encodeCopiesSoLaterWritesDoNotReachTheTensor() {
        INDArray a = Nd4j.createFromArray(1f, 2f, 3f);
        Tensor t = codec.encode(a, Modality.TENSOR);
        a.addi(10);
        assertArrayEquals(TestArrays.littleEndian(new float[] {1f, 2f, 3f}),
                t.getBuffer().toByteArray());
    }

    @Test
    void theTensorOutlivesTheArrayItCameFrom() {
        float[] values = (float[]) TestArrays.values(DataType.FLOAT, 4096, new Random(7));
        INDArray a = TestArrays.array(values, new long[] {64, 64});
        Tensor t = codec.encode(a, Modality.TENSOR);
        a.close(); // frees the native memory now; the tensor owns a copy
        assertArrayEquals(TestArrays.littleEndian(values), t.getBuffer().toByteArray());
    }

    @Test
    void imageIsCastToFloat32AndTextToInt64() {
        Tensor image = codec.encode(Nd4j.createFromArray(0.5, 0.25).reshape(1, 1, 1, 1, 2),
                Modality.IMAGE, true);
        assertEquals(io.bittensor.proto.DataType.FLOAT32, image.getDtype());
        assertTrue(image.getRequiresGrad());
        assertArrayEquals(TestArrays.littleEndian(new float[] {0.5f, 0.25f}),
                image.getBuffer().toByteArray());

        Tensor text = codec.encode(Nd4j.createFromArray(new int[][] {{101, 7}}), Modality.TEXT,
                true);
        assertEquals(io.bittensor.proto.DataType.INT64, text.getDtype());
        assertFalse(text.getRequiresGrad(), "TEXT never requires grad");
        assertArrayEquals(TestArrays.littleEndian(new long[] {101, 7}),
                text.getBuffer().toByteArray());
        assertEquals(DataType.LONG, codec.decode(text).dataType());
    }

    @Test
    void dtypesTheWireCannotCarryAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> codec.encode(Nd4j.create(DataType.HALF, 2), Modality.TENSOR));
        assertTrue(e.getMessage().contains("HALF"));
        assertThrows(IllegalArgumentException.class,
                () -> codec.encode(Nd4j.create(DataType.FLOAT, 2), Modality.UNRECOGNIZED));
    }

    @Test
    void emptyAndScalarTensors() {
        Tensor empty = codec.encode(Nd4j.create(DataType.FLOAT, 0, 1, 512), Modality.TENSOR);
        assertTrue(empty.getBuffer().isEmpty());
        assertEquals(java.util.List.of(0L, 1L, 512L), empty.getShapeList());
        INDArray back = codec.decode(empty);
        assertArrayEquals(new long[] {0, 1, 512}, back.shape());
        assertEquals(DataType.FLOAT, back.dataType());

        Tensor scalar = codec.encode(Nd4j.scalar(42L), Modality.TENSOR);
        assertEquals(0, scalar.getShapeCount());
        INDArray s = codec.decode(scalar);
        assertEquals(0, s.rank());
        assertEquals(42L, s.getLong(0));
    }

    // ---------------------------------------------------------------------------- decodeInto

    @Test
    void decodeIntoReusesTheTarget() {
        Tensor t = codec.encode(Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}}),
                Modality.TENSOR);
        INDArray target = Nd4j.create(DataType.DOUBLE, 2, 2);
        assertSame(target, codec.decodeInto(t, target));
        assertArrayEquals(new double[] {1, 2, 3, 4}, (double[]) TestArrays.valuesOf(target));

        assertThrows(IllegalArgumentException.class,
                () -> codec.decodeInto(t, Nd4j.create(DataType.FLOAT, 2, 2)));
        assertThrows(IllegalArgumentException.class,
                () -> codec.decodeInto(t, Nd4j.create(DataType.DOUBLE, 4)));
        assertThrows(IllegalArgumentException.class,
                () -> codec.decodeInto(t, Nd4j.create(DataType.DOUBLE, new long[] {2, 2}, 'f')));
        INDArray bigger = Nd4j.create(DataType.DOUBLE, 3, 2, 2);
        assertThrows(IllegalArgumentException.class,
                () -> codec.decodeInto(t, bigger.get(NDArrayIndex.point(1))));
        assertThrows(TensorDecodeException.class, () -> codec.decodeInto(
                t.toBuilder().setDtypeValue(9).build(), target));
    }

    // ---------------------------------------------------------------------- big-endian hosts

    @Test
    void byteSwappingCopyReversesEachElement() {
        for (int size : new int[] {4, 8}) {
            byte[] le = new byte[size * 3];
            new Random(size).nextBytes(le);
            ByteBuffer dst = ByteBuffer.allocateDirect(le.length);
            TensorCodec.copyElements(ByteBuffer.wrap(le), ByteOrder.LITTLE_ENDIAN, dst,
                    ByteOrder.BIG_ENDIAN, size);
            for (int e = 0; e < 3; e++) {
                for (int b = 0; b < size; b++) {
                    assertEquals(le[e * size + b], dst.get(e * size + size - 1 - b));
                }
            }
            ByteBuffer again = ByteBuffer.allocate(le.length);
            TensorCodec.copyElements(dst, ByteOrder.BIG_ENDIAN, again, ByteOrder.LITTLE_ENDIAN,
                    size);
            assertArrayEquals(le, again.array());
        }
    }
}
