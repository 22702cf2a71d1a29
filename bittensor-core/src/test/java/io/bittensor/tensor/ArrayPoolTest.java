package io.bittensor.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ArrayPoolTest {

    @Test
    void aGivenBackArrayIsReusedForTheSameDtypeAndShape() {
        try (ArrayPool pool = new ArrayPool(1 << 20)) {
            ArrayPool.PooledArray a = pool.acquire(DataType.FLOAT, new long[] {2, 3});
            INDArray first = a.array();
            assertArrayEquals(new long[] {2, 3}, first.shape());
            assertEquals('c', first.ordering());
            a.close();
            assertEquals(24, pool.idleBytes());
            try (ArrayPool.PooledArray b = pool.acquire(DataType.FLOAT, new long[] {2, 3})) {
                assertSame(first, b.array());
                assertEquals(0, pool.idleBytes());
            }
            try (ArrayPool.PooledArray c = pool.acquire(DataType.DOUBLE, new long[] {2, 3});
                 ArrayPool.PooledArray d = pool.acquire(DataType.FLOAT, new long[] {3, 2})) {
                assertNotSame(first, c.array());
                assertNotSame(first, d.array());
            }
        }
    }

    @Test
    void beyondTheIdleBoundArraysAreFreedAtOnce() {
        try (ArrayPool pool = new ArrayPool(40)) { // room for one 6-float array, not two
            ArrayPool.PooledArray a = pool.acquire(DataType.FLOAT, new long[] {6});
            ArrayPool.PooledArray b = pool.acquire(DataType.FLOAT, new long[] {6});
            INDArray kept = a.array();
            INDArray freed = b.array();
            a.close();
            b.close();
            assertEquals(24, pool.idleBytes());
            assertTrue(freed.wasClosed(), "the array past the bound is freed, not kept");
            assertTrue(!kept.wasClosed(), "the array within the bound is kept");
        }
    }

    @Test
    void closingThePoolFreesIdleArraysAndLateReturns() {
        ArrayPool pool = new ArrayPool(1 << 20);
        ArrayPool.PooledArray idle = pool.acquire(DataType.FLOAT, new long[] {4});
        INDArray idleArray = idle.array();
        idle.close();
        ArrayPool.PooledArray onLoan = pool.acquire(DataType.INT64, new long[] {4});
        INDArray loanArray = onLoan.array();
        pool.close();
        assertTrue(idleArray.wasClosed(), "idle array freed by close()");
        assertEquals(0, pool.idleBytes());
        onLoan.close();
        assertTrue(loanArray.wasClosed(), "array given back after close() is freed");
        assertEquals(0, pool.idleBytes());
        pool.close(); // idempotent
    }

    @Test
    void aLeaseIsGivenBackOnceAndNotUsableAfter() {
        try (ArrayPool pool = new ArrayPool(1 << 20)) {
            ArrayPool.PooledArray a = pool.acquire(DataType.FLOAT, new long[] {5});
            a.close();
            a.close();
            assertEquals(20, pool.idleBytes(), "the second close gives nothing back");
            assertThrows(IllegalStateException.class, a::array);
        }
    }

    @Test
    void negativeBoundIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ArrayPool(-1));
    }

    @Test
    void pooledDecodeEqualsAFreshDecodeAndOverwritesOldContents() {
        TensorCodec codec = TensorCodec.defaults();
        try (ArrayPool pool = new ArrayPool(1 << 20)) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 3, 1, 8);
            INDArray y = Nd4j.rand(DataType.FLOAT, 3, 1, 8);
            try (ArrayPool.PooledArray p = codec.decode(codec.encode(x, Modality.TENSOR), pool)) {
                assertEquals(x, p.array());
            }
            try (ArrayPool.PooledArray p = codec.decode(codec.encode(y, Modality.TENSOR), pool)) {
                assertEquals(y, p.array());
                assertEquals(codec.decode(codec.encode(y, Modality.TENSOR)), p.array());
            }
            Tensor lying = codec.encode(x, Modality.TENSOR).toBuilder()
                    .setBuffer(ByteString.copyFrom(new byte[7])).build();
            assertThrows(TensorDecodeException.class, () -> codec.decode(lying, pool));
            assertEquals(3 * 8 * 4, pool.idleBytes(), "a refused tensor borrows nothing");
        }
    }
}
