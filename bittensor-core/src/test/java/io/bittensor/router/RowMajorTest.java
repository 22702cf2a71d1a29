package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class RowMajorTest {
  private static final double[] VALUES = {1, 2, 3, 4, 5, 6};

  @Test
  void readsDenseViewsAndFortranOrderInCOrder() {
    INDArray c = Nd4j.create(VALUES, new long[] {2, 3}, DataType.FLOAT);
    assertArrayEquals(VALUES, RowMajor.doubles(c));
    assertArrayEquals(VALUES, RowMajor.doubles(c.dup('f')));
    assertArrayEquals(new double[] {1, 4, 2, 5, 3, 6}, RowMajor.doubles(c.transpose()));
    INDArray wide = Nd4j.create(new double[] {9, 1, 2, 3, 9, 4, 5, 6}, new long[] {2, 4}, DataType.DOUBLE);
    INDArray columns = wide.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 4)); // a strided view
    assertArrayEquals(VALUES, RowMajor.doubles(columns));
    INDArray row = wide.getRow(1).get(NDArrayIndex.interval(1, 4)); // an offset view
    assertArrayEquals(new double[] {4, 5, 6}, RowMajor.doubles(row));
    assertEquals(0, RowMajor.doubles(Nd4j.create(DataType.FLOAT, 0, 3)).length);
  }

  /**
   * Every ND4J array costs a native buffer for its shape (and one for its data) that ND4J's
   * deallocator thread frees after a GC; reading gates row by row made ~380 per call.
   */
  @Test
  void routingAGateMatrixMakesAFewNativeBuffersNotOnePerRow() {
    INDArray gates = Nd4j.rand(DataType.FLOAT, 64, 2);
    SparseGate gate = SparseGate.builder(8).topK(1).build();
    INDArray context = Nd4j.rand(DataType.FLOAT, 64, 8);
    INDArray keys = new SynapseKeys(SparseGate.DEFAULT_KEY_DIM).keys(List.of("a", "b"));
    Dispatcher.routes(gates);
    gate.forward(context, keys);

    long before = nativeBuffersMade();
    Dispatcher.routes(gates);
    long routes = nativeBuffersMade() - before - 1;
    before = nativeBuffersMade();
    gate.forward(context, keys);
    long forward = nativeBuffersMade() - before - 1;

    assertTrue(routes <= 2, "routes made " + routes + " native buffers");
    assertTrue(forward <= 40, "the gate's forward made " + forward + " native buffers");
  }

  /** ND4J's CPU buffers draw their ids from this counter (and so does each call of it). */
  private static long nativeBuffersMade() {
    return Nd4j.getDeallocatorService().nextValue();
  }
}
