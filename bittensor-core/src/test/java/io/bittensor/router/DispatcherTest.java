package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class DispatcherTest {
  private final Dispatcher dispatcher = new Dispatcher();

  // Row 0 → peers 0, 1; row 1 → peer 1; row 2 → peers 0, 2. Peer 3 gets nothing.
  private static final INDArray GATES =
      Nd4j.createFromArray(new double[][] {{0.6, 0.4, 0, 0}, {0, 1, 0, 0}, {0.3, 0, 0.7, 0}});

  @Test
  void dispatchesTextTokensAsInt64Rows() {
    INDArray tokens = Nd4j.createFromArray(new long[][] {{1, 2}, {3, 4}, {5, 6}});
    Dispatch d = dispatcher.dispatch(tokens, GATES);
    assertEquals(Nd4j.createFromArray(new long[][] {{1, 2}, {5, 6}}), d.inputs().get(0));
    assertEquals(Nd4j.createFromArray(new long[][] {{1, 2}, {3, 4}}), d.inputs().get(1));
    assertEquals(Nd4j.createFromArray(new long[][] {{5, 6}}), d.inputs().get(2));
    assertNull(d.inputs().get(3), "a peer with no rows is not called");
    assertEquals(DataType.INT64, d.inputs().get(0).dataType());
    assertArrayEquals(new int[] {0, 2}, d.rows().get(0));
    assertEquals(0, d.rows().get(3).length);
  }

  @Test
  void dispatchesImagesAndTensorsOfAnyRank() {
    INDArray images = Nd4j.rand(DataType.FLOAT, 3, 1, 2, 4, 4); // [batch, seq, c, h, w]
    Dispatch d = dispatcher.dispatch(images, GATES);
    assertArrayEquals(new long[] {2, 1, 2, 4, 4}, d.inputs().get(0).shape());
    assertEquals(images.get(NDArrayIndex.point(2)), d.inputs().get(0).get(NDArrayIndex.point(1)));
    assertEquals(images.get(NDArrayIndex.point(1)), d.inputs().get(1).get(NDArrayIndex.point(1)));

    INDArray tensors = Nd4j.rand(DataType.FLOAT, 3, 5, 7); // [batch, seq, d]
    d = dispatcher.dispatch(tensors, GATES);
    assertArrayEquals(new long[] {1, 5, 7}, d.inputs().get(2).shape());
    assertEquals(tensors.get(NDArrayIndex.point(2)), d.inputs().get(2).get(NDArrayIndex.point(0)));
  }

  @Test
  void combineWeighsEachRowsPeers() {
    List<INDArray> outs = outputs(GATES, 2, 3);
    INDArray c = dispatcher.combine(outs, GATES, new boolean[] {true, true, true, true});
    assertArrayEquals(new long[] {3, 2, 3}, c.shape());
    // out_e rows are constant (e + 1) * (b + 1): row b combines to sum_e g[b,e] (e+1)(b+1).
    assertRow(c, 0, (0.6 * 1 + 0.4 * 2) * 1);
    assertRow(c, 1, (1.0 * 2) * 2);
    assertRow(c, 2, (0.3 * 1 + 0.7 * 3) * 3);
  }

  @Test
  void failedPeerWeightIsRenormalizedOverThoseThatAnswered() {
    List<INDArray> outs = outputs(GATES, 4);
    // Peer 0 failed: its (zero-filled) output gets no weight, rows 0 and 2 lean on the others.
    outs.set(0, Nd4j.zeros(DataType.FLOAT, 2, 4));
    INDArray c = dispatcher.combine(outs, GATES, new boolean[] {false, true, true, true});
    assertRow(c, 0, 2.0 * 1);
    assertRow(c, 1, 2.0 * 2);
    assertRow(c, 2, 3.0 * 3);
    INDArray renormalized = Dispatcher.renormalize(GATES, new boolean[] {false, true, true, true});
    assertEquals(
        Nd4j.createFromArray(new double[][] {{0, 1, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}), renormalized);
  }

  @Test
  void aRowNoPeerAnsweredCombinesToZeros() {
    List<INDArray> outs = outputs(GATES, 4);
    boolean[] answered = {true, false, true, true};
    INDArray c = dispatcher.combine(outs, GATES, answered);
    assertRow(c, 1, 0.0);
    assertRow(c, 0, 1.0); // peer 0 alone
    CombineGradients g =
        dispatcher.combineBackward(outs, GATES, answered, Nd4j.ones(DataType.DOUBLE, 3, 4));
    assertEquals(0.0, g.gates().getRow(1).norm1Number().doubleValue());
    assertNull(g.peerOutputs().get(1), "a failed peer gets no Backward");
    assertNull(g.peerOutputs().get(3), "an unrouted peer gets no Backward");
    assertArrayEquals(new long[] {2, 4}, g.peerOutputs().get(0).shape());
  }

  @Test
  void aDeadPeerHoldingNearlyAllOfARowsGateLeavesItsGradientFinite() {
    // Float gates where the answering peers' share is a denormal (a saturated softmax): 1/share
    // overflows float, and the gradient once came out NaN, which turned the gate NaN for good.
    for (float share : new float[] {1e-6f, 1e-30f, 1e-40f, Float.MIN_VALUE}) {
      INDArray gates = Nd4j.create(new float[] {1f - 2 * share, share, share}, new long[] {1, 3}, 'c');
      boolean[] answered = {false, true, true};
      List<INDArray> outs =
          Arrays.asList(
              Nd4j.zeros(DataType.FLOAT, 1, 4),
              Nd4j.createFromArray(new float[][] {{1, 2, 3, 4}}),
              Nd4j.createFromArray(new float[][] {{-1, 0, 1, 0}}));
      INDArray grad = Nd4j.createFromArray(new float[][] {{0.5f, -0.25f, 0.125f, 1f}});
      CombineGradients g = dispatcher.combineBackward(outs, gates, answered, grad);
      assertTrue(Double.isFinite(g.gates().norm1Number().doubleValue()), share + ": " + g.gates());
      assertTrue(g.gates().getDouble(0, 0) == 0.0, "share " + share + ": the dead peer's gate");
      // The answering peers still learn which of them serves the row better: opposite signs.
      assertTrue(g.gates().getDouble(0, 1) * g.gates().getDouble(0, 2) < 0, share + ": " + g.gates());
    }
  }

  @Test
  void nobodyAnsweringNeedsTheRowShape() {
    List<INDArray> outs = outputs(GATES, 4);
    boolean[] none = new boolean[4];
    assertThrows(IllegalArgumentException.class, () -> dispatcher.combine(outs, GATES, none));
    INDArray c = dispatcher.combine(outs, GATES, none, new long[] {2, 512});
    assertArrayEquals(new long[] {3, 2, 512}, c.shape());
    assertEquals(0.0, c.norm1Number().doubleValue());
  }

  @Test
  void zeroPeersGiveNoCallsAndZeros() {
    INDArray gates = Nd4j.zeros(DataType.FLOAT, 2, 0);
    Dispatch d = dispatcher.dispatch(Nd4j.ones(DataType.INT64, 2, 5), gates);
    assertEquals(0, d.peers());
    INDArray c = dispatcher.combine(List.of(), gates, new boolean[0], new long[] {5, 8});
    assertArrayEquals(new long[] {2, 5, 8}, c.shape());
    assertEquals(0.0, c.norm1Number().doubleValue());
  }

  @Test
  void dispatchBackwardSumsEachPeersRowsBackIntoPlace() {
    INDArray inputs = Nd4j.rand(DataType.FLOAT, 3, 2, 5);
    Dispatch d = dispatcher.dispatch(inputs, GATES);
    // Sending every peer's rows straight back counts each row once per peer it went to.
    INDArray back =
        dispatcher.dispatchBackward(d.inputs(), d.rows(), inputs.shape(), DataType.FLOAT);
    INDArray timesRouted = Nd4j.createFromArray(2f, 1f, 2f).reshape(3, 1, 1);
    assertTrue(inputs.mul(timesRouted).equalsWithEps(back, 1e-6));
    INDArray none =
        dispatcher.dispatchBackward(
            Arrays.asList(new INDArray[4]), d.rows(), inputs.shape(), DataType.DOUBLE);
    assertEquals(Nd4j.zeros(DataType.DOUBLE, 3, 2, 5), none);
  }

  @Test
  void rejectsMismatchedShapes() {
    List<INDArray> outs = outputs(GATES, 4);
    boolean[] all = {true, true, true, true};
    assertThrows(IllegalArgumentException.class, () -> dispatcher.dispatch(Nd4j.ones(4, 2), GATES));
    assertThrows(IllegalArgumentException.class, () -> dispatcher.dispatch(Nd4j.ones(3, 2), Nd4j.ones(3)));
    assertThrows(IllegalArgumentException.class, () -> dispatcher.combine(outs.subList(0, 3), GATES, all));
    assertThrows(IllegalArgumentException.class, () -> dispatcher.combine(outs, GATES, new boolean[3]));
    outs.set(1, Nd4j.ones(DataType.FLOAT, 3, 4)); // peer 1 got 2 rows, answered 3
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> dispatcher.combine(outs, GATES, all));
    assertTrue(e.getMessage().contains("peer 1"), e.getMessage());
  }

  /** Per peer e, an output for its rows where row b is filled with (e + 1) * (b + 1). */
  private List<INDArray> outputs(INDArray gates, long... rowShape) {
    List<int[]> routes = Dispatcher.routes(gates);
    INDArray[] outs = new INDArray[routes.size()];
    for (int e = 0; e < outs.length; e++) {
      int[] rows = routes.get(e);
      if (rows.length == 0) {
        continue;
      }
      long[] shape = new long[rowShape.length + 1];
      shape[0] = rows.length;
      System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
      outs[e] = Nd4j.zeros(DataType.FLOAT, shape);
      for (int i = 0; i < rows.length; i++) {
        outs[e].get(NDArrayIndex.point(i)).assign((e + 1) * (rows[i] + 1));
      }
    }
    return Arrays.asList(outs);
  }

  private static void assertRow(INDArray combined, int row, double value) {
    INDArray r = combined.get(NDArrayIndex.point(row));
    assertEquals(value, r.minNumber().doubleValue(), 1e-6, "row " + row);
    assertEquals(value, r.maxNumber().doubleValue(), 1e-6, "row " + row);
  }
}
