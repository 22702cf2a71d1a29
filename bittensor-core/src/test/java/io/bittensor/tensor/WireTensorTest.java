package io.bittensor.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** {@link NativeBuffers}, {@link WireTensor} and the codec's zero-copy decode. */
class WireTensorTest {

    private static final TensorCodec CODEC = TensorCodec.defaults();

    /** A wire tensor holding {@code t}'s bytes in a block from {@code pool}, as the transport makes them. */
    private static WireTensor received(Tensor t, NativeBuffers pool) {
        NativeBuffers.Block b = pool.acquire(t.getBuffer().size());
        t.getBuffer().copyTo(b.buffer());
        return new WireTensor(t.toBuilder().clearBuffer().build(), b);
    }

    @Test
    void aViewHoldsTheSentValuesForEveryWireDtype() {
        Random rnd = new Random(7);
        try (NativeBuffers pool = new NativeBuffers(1 << 20)) {
            for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE, DataType.INT, DataType.LONG}) {
                long[] shape = {3, 2, 5};
                Object values = TestArrays.values(type, 30, rnd); // NaN payloads, -0.0 included
                INDArray sent = TestArrays.array(values, shape);
                try (WireTensor w = received(CODEC.encode(sent, Modality.TENSOR), pool)) {
                    INDArray got = CODEC.decodeView(w);
                    assertEquals(type, got.dataType());
                    assertArrayEquals(shape, got.shape());
                    assertEquals('c', got.ordering());
                    assertArrayEquals(TestArrays.littleEndian(values),
                            TestArrays.littleEndian(TestArrays.valuesOf(got)), type.toString());
                    assertEquals(w.byteLength(), got.length() * type.width());
                }
            }
        }
    }

    @Test
    void theViewIsTheBlockNotACopy() {
        try (NativeBuffers pool = new NativeBuffers(1 << 20)) {
            INDArray sent = Nd4j.linspace(DataType.FLOAT, 1, 12, 1).reshape(3, 4);
            try (WireTensor w = CODEC.encodeWire(sent, Modality.TENSOR, false, pool)) {
                INDArray view = CODEC.decodeView(w);
                assertEquals(sent, view);
                ByteBuffer bytes = w.bytes().order(ByteOrder.LITTLE_ENDIAN);
                assertEquals(1f, bytes.getFloat(0));
                view.putScalar(0, 0, 42f); // writes the block itself
                assertEquals(42f, w.bytes().order(ByteOrder.LITTLE_ENDIAN).getFloat(0));
                // a second decode views the same bytes
                assertEquals(42f, CODEC.decodeView(w).getFloat(0, 0));
                // a fresh decode is a copy the caller owns, and outlives the wire tensor
                INDArray copy = CODEC.decode(w);
                w.close();
                assertEquals(42f, copy.getFloat(0, 0));
                assertEquals(12f, copy.getFloat(2, 3));
            }
        }
    }

    @Test
    void encodeWireWritesWhatEncodeWrites() {
        INDArray a = Nd4j.rand(DataType.DOUBLE, 4, 6);
        INDArray view = a.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 3)); // not dense
        INDArray f = a.dup('f');
        try (NativeBuffers pool = new NativeBuffers(0)) {
            for (INDArray x : new INDArray[] {a, view, f}) {
                for (Modality m : new Modality[] {Modality.TENSOR, Modality.IMAGE}) {
                    try (WireTensor w = CODEC.encodeWire(x, m, true, pool)) {
                        assertEquals(CODEC.encode(x, m, true), w.toTensor());
                    }
                }
            }
        }
    }

    @Test
    void useAfterCloseThrowsInsteadOfReading() {
        try (NativeBuffers pool = new NativeBuffers(1 << 20)) {
            WireTensor w = CODEC.encodeWire(Nd4j.ones(DataType.FLOAT, 8, 512), Modality.TENSOR, false, pool);
            INDArray view = CODEC.decodeView(w);
            INDArray reshaped = view.reshape(4096);
            w.close();
            assertTrue(view.wasClosed());
            assertThrows(IllegalStateException.class, () -> view.getFloat(0, 0));
            assertThrows(IllegalStateException.class, () -> view.sumNumber());
            assertThrows(IllegalStateException.class, () -> view.dup());
            assertThrows(IllegalStateException.class, () -> view.data().asNio());
            assertThrows(IllegalStateException.class, () -> reshaped.add(1)); // ND4J's ops check
            assertThrows(IllegalStateException.class, () -> CODEC.decodeView(w));
            assertThrows(IllegalStateException.class, () -> CODEC.decode(w));
            assertThrows(IllegalStateException.class, w::bytes);
            w.close(); // idempotent
            assertEquals(NativeBuffers.sizeClass(8 * 512 * 4), pool.idleBytes(), "the block went back");
        }
    }

    @Test
    void theBlockIsReusedAndNewBytesNeverShowThroughAnOldView() {
        try (NativeBuffers pool = new NativeBuffers(1 << 20)) {
            WireTensor first = CODEC.encodeWire(Nd4j.ones(DataType.FLOAT, 64, 1, 512), Modality.TENSOR, false, pool);
            INDArray old = CODEC.decodeView(first);
            first.close();
            long allocated = pool.allocations();
            try (WireTensor second = CODEC.encodeWire(Nd4j.zeros(DataType.FLOAT, 64, 1, 512), Modality.TENSOR, false, pool)) {
                assertEquals(allocated, pool.allocations(), "the same block, reused");
                assertEquals(0.0, CODEC.decodeView(second).sumNumber().doubleValue());
                assertThrows(IllegalStateException.class, () -> old.getFloat(0, 0, 0));
            }
        }
    }

    @Test
    void lyingLengthsAndGiantShapesAreRefusedBeforeAnyView() {
        try (NativeBuffers pool = new NativeBuffers(1 << 20)) {
            Tensor good = CODEC.encode(Nd4j.ones(DataType.FLOAT, 2, 3), Modality.TENSOR);
            Tensor shortBuffer = good.toBuilder().setBuffer(good.getBuffer().substring(0, 23)).build();
            try (WireTensor w = received(shortBuffer, pool)) {
                TensorDecodeException e = assertThrows(TensorDecodeException.class, () -> CODEC.decodeView(w));
                assertEquals(TensorDecodeException.Reason.LENGTH_MISMATCH, e.reason());
                assertTrue(e.getMessage().contains("buffer is 23 bytes"), e.getMessage());
            }
            Tensor giant = good.toBuilder().clearShape().addShape(1L << 40).addShape(1L << 40).build();
            try (WireTensor w = received(giant, pool)) {
                TensorDecodeException e = assertThrows(TensorDecodeException.class, () -> CODEC.decodeView(w));
                assertEquals(TensorDecodeException.Reason.TOO_LARGE, e.reason());
            }
            Tensor badDtype = good.toBuilder().setDtypeValue(99).build();
            try (WireTensor w = received(badDtype, pool)) {
                assertEquals(TensorDecodeException.Reason.UNKNOWN_DTYPE,
                        assertThrows(TensorDecodeException.class, () -> CODEC.decodeView(w)).reason());
            }
        }
    }

    @Test
    void emptyAndScalarTensorsDecode() {
        try (NativeBuffers pool = new NativeBuffers(1 << 20)) {
            try (WireTensor w = CODEC.encodeWire(Nd4j.create(DataType.FLOAT, 0, 512), Modality.TENSOR, false, pool)) {
                assertEquals(0, w.byteLength());
                INDArray v = CODEC.decodeView(w);
                assertArrayEquals(new long[] {0, 512}, v.shape());
            }
            try (WireTensor w = CODEC.encodeWire(Nd4j.scalar(DataType.DOUBLE, 2.5), Modality.TENSOR, false, pool)) {
                INDArray v = CODEC.decodeView(w);
                assertEquals(0, v.rank());
                assertEquals(2.5, v.getDouble(0));
            }
        }
    }

    @Test
    void thePoolKeepsAtMostItsBoundIdleAndFreesTheRest() {
        long oneBlock = NativeBuffers.sizeClass(100_000);
        NativeBuffers pool = new NativeBuffers(oneBlock); // room for one block, not two
        NativeBuffers.Block a = pool.acquire(100_000);
        NativeBuffers.Block b = pool.acquire(100_000);
        assertNotEquals(a.address(), b.address());
        a.close();
        b.close();
        assertEquals(oneBlock, pool.idleBytes());
        b.close(); // idempotent: given back once
        assertEquals(oneBlock, pool.idleBytes());
        assertThrows(IllegalStateException.class, b::buffer);
        NativeBuffers.Block big = pool.acquire(4 * oneBlock); // larger than the bound: never kept
        big.close();
        assertEquals(oneBlock, pool.idleBytes());
        NativeBuffers.Block lent = pool.acquire(100_000);
        assertEquals(0, pool.idleBytes());
        pool.close();
        lent.close(); // after the pool closed: freed, not kept
        assertEquals(0, pool.idleBytes());
        assertEquals(3, pool.allocations());
        assertEquals(0, pool.lent());
    }

    @Test
    void sizeClassesAreAtMostAQuarterOver() {
        for (long n : new long[] {1, 4096, 4097, 131_072, 131_073, 200_000, 64L << 20, (64L << 20) + 1}) {
            long c = NativeBuffers.sizeClass(n);
            assertTrue(c >= n && c <= Math.max(4096, n + n / 4), n + " -> " + c);
        }
    }

    @Test
    void aWireTensorNeverClosedGivesItsBlockBackOnceNothingReachesIt() throws Exception {
        try (NativeBuffers pool = new NativeBuffers(1 << 20)) {
            INDArray kept = dropOwnerKeepView(pool);
            // The owner is unreachable but the view is not: its block must stay lent.
            for (int i = 0; i < 5; i++) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(0, pool.idleBytes(), "a reachable view keeps its block");
            assertEquals(3f, kept.getFloat(1, 1));
            kept = null;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (pool.idleBytes() == 0 && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
            }
            assertTrue(pool.idleBytes() > 0, "the block came back once nothing reached it");
        }
    }

    private static INDArray dropOwnerKeepView(NativeBuffers pool) {
        WireTensor w = CODEC.encodeWire(Nd4j.valueArrayOf(new long[] {4, 4}, 3f), Modality.TENSOR, false, pool);
        return CODEC.decodeView(w);
    }

    @Test
    void theHeaderMustNotCarryBytes() {
        Tensor withBytes = Tensor.newBuilder().setBuffer(ByteString.copyFrom(new byte[4])).build();
        assertThrows(IllegalArgumentException.class, () -> new WireTensor(withBytes, null));
        assertFalse(new WireTensor(Tensor.getDefaultInstance(), null).isClosed());
    }
}
