package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.ops.transforms.Transforms;

class SparseGateTest {
  private static final int X_DIM = 5;

  private static SparseGate gate(int topK) {
    return SparseGate.builder(X_DIM).keyDim(3).topK(topK).random(GateGradientTest.seeded(11)).build();
  }

  private static INDArray keys(int n) {
    return new SynapseKeys(3, GateGradientTest.seeded(12), 100)
        .keys(java.util.stream.IntStream.range(0, n).mapToObj(i -> "peer" + i).toList());
  }

  private static INDArray context(int batch) {
    Nd4j.getRandom().setSeed(13);
    return Nd4j.randn(DataType.FLOAT, batch, X_DIM);
  }

  @Test
  void topKLargerThanPeerCountKeepsEveryPeer() {
    SparseGate g = gate(10);
    Gating out = g.forward(context(4), keys(3));
    assertEquals(3, out.k());
    assertEquals(0, out.gates().eq(0.0).castTo(DataType.INT32).sumNumber().intValue());
    // Keeping all peers is the plain softmax of the scores.
    assertTrue(Transforms.softmax(out.scores(), true).equalsWithEps(out.gates(), 1e-6));
  }

  @Test
  void onePeerGetsEveryRowWithWeightOne() {
    Gating out = gate(3).forward(context(4), keys(1));
    assertEquals(Nd4j.ones(DataType.FLOAT, 4, 1), out.gates());
  }

  @Test
  void zeroPeersGiveEmptyGatesAndZeroGradients() {
    SparseGate g = gate(2);
    Gating out = g.forward(context(3), keys(0));
    assertArrayEquals(new long[] {3, 0}, out.gates().shape());
    GateGradients grads = g.backward(out, Nd4j.zeros(DataType.FLOAT, 3, 0));
    assertEquals(0.0, grads.weight().norm1Number().doubleValue());
    assertArrayEquals(new long[] {3, X_DIM}, grads.context().shape());
  }

  @Test
  void tiesGoToTheLowerPeerIndex() {
    INDArray scores = Nd4j.createFromArray(new double[][] {{3, 1, 3, 2}, {1, 2, 2, 2}, {0, 0, 0, 0}});
    INDArray mask = SparseGate.topKMask(scores, 2);
    assertEquals(
        Nd4j.createFromArray(new double[][] {{1, 0, 1, 0}, {0, 1, 1, 0}, {1, 1, 0, 0}}), mask);
    // Identical keys tie for every row: the first two peers win, with equal weight.
    INDArray same = Nd4j.ones(DataType.FLOAT, 4, 3);
    Gating out = gate(2).forward(context(3), same);
    INDArray expected = Nd4j.createFromArray(new float[] {0.5f, 0.5f, 0f, 0f});
    for (int b = 0; b < 3; b++) {
      assertEquals(expected, out.gates().getRow(b));
    }
  }

  @Test
  void topKMaskAgreesWithAStableSortOnManyTies() {
    java.util.random.RandomGenerator r = GateGradientTest.seeded(17);
    for (int trial = 0; trial < 50; trial++) {
      int n = 1 + r.nextInt(30);
      int k = 1 + r.nextInt(n);
      double[][] s = new double[3][n];
      for (double[] row : s) {
        for (int i = 0; i < n; i++) {
          row[i] = r.nextInt(4); // few distinct values: many ties
        }
      }
      INDArray mask = SparseGate.topKMask(Nd4j.createFromArray(s), k);
      for (int b = 0; b < 3; b++) {
        final int rowIndex = b;
        double[] row = s[b];
        int[] expected =
            java.util.stream.IntStream.range(0, n)
                .boxed()
                .sorted((x, y) -> Double.compare(row[y], row[x])) // stable: index order on ties
                .limit(k)
                .mapToInt(Integer::intValue)
                .sorted()
                .toArray();
        int[] kept =
            java.util.stream.IntStream.range(0, n).filter(i -> mask.getDouble(rowIndex, i) == 1.0).toArray();
        assertArrayEquals(expected, kept, "trial " + trial + " row " + b);
      }
    }
  }

  @Test
  void resultsStayValidAcrossLaterCalls() {
    // SameDiff reuses arrays between executions; what the gate hands out must not change under us.
    SparseGate g = gate(2);
    INDArray keys = keys(4);
    Gating first = g.forward(context(3), keys);
    INDArray scores = first.scores().dup();
    INDArray gates = first.gates().dup();
    GateGradients grads = g.backward(first, Nd4j.ones(DataType.FLOAT, 3, 4));
    INDArray dW = grads.weight().dup();
    INDArray dx = grads.context().dup();
    for (int i = 0; i < 3; i++) {
      Gating other = g.forward(Nd4j.rand(DataType.FLOAT, 3, X_DIM), keys);
      g.backward(other, Nd4j.rand(DataType.FLOAT, 3, 4));
    }
    assertEquals(scores, first.scores());
    assertEquals(gates, first.gates());
    assertEquals(dW, grads.weight());
    assertEquals(dx, grads.context());
  }

  @Test
  void batchOfOne() {
    SparseGate g = gate(2);
    Gating out = g.forward(context(1), keys(4));
    assertArrayEquals(new long[] {1, 4}, out.gates().shape());
    assertEquals(1.0, out.gates().sumNumber().doubleValue(), 1e-6);
    Dispatcher d = new Dispatcher();
    Dispatch dispatched = d.dispatch(Nd4j.ones(DataType.INT64, 1, 7), out.gates());
    int called = 0;
    for (INDArray in : dispatched.inputs()) {
      called += in == null ? 0 : 1;
    }
    assertEquals(2, called);
  }

  @Test
  void wrongContextOrKeysAreRejectedClearly() {
    SparseGate g = gate(2);
    IllegalArgumentException rank =
        assertThrows(IllegalArgumentException.class, () -> g.forward(Nd4j.ones(2, 3, X_DIM), keys(2)));
    assertTrue(rank.getMessage().contains("rank 2"), rank.getMessage());
    assertThrows(IllegalArgumentException.class, () -> g.forward(Nd4j.ones(X_DIM), keys(2)));
    IllegalArgumentException width =
        assertThrows(IllegalArgumentException.class, () -> g.forward(Nd4j.ones(2, X_DIM + 1), keys(2)));
    assertTrue(width.getMessage().contains("x_dim = " + X_DIM), width.getMessage());
    assertThrows(IllegalArgumentException.class, () -> g.forward(Nd4j.ones(2, X_DIM), Nd4j.ones(2, 4)));
    assertThrows(
        IllegalArgumentException.class,
        () -> g.forward(Nd4j.ones(DataType.INT64, 2, X_DIM), keys(2)));
    assertThrows(IllegalArgumentException.class, () -> SparseGate.builder(3).topK(0));
  }

  @Test
  void applyTakesOneUpdaterStep() {
    SparseGate g =
        SparseGate.builder(X_DIM).keyDim(3).topK(2).updater(new Sgd(0.5)).random(GateGradientTest.seeded(3)).build();
    INDArray w0 = g.weight();
    INDArray b0 = g.bias();
    Gating out = g.forward(context(4), keys(4));
    GateGradients grads = g.backward(out, Nd4j.rand(DataType.FLOAT, 4, 4));
    g.apply(grads);
    assertTrue(w0.sub(grads.weight().mul(0.5)).equalsWithEps(g.weight(), 1e-6));
    assertTrue(b0.sub(grads.bias().mul(0.5)).equalsWithEps(g.bias(), 1e-6));
    assertEquals(1, g.steps());
  }

  @Test
  void aNonFiniteGradientIsSkippedAndCounted() {
    SparseGate g =
        SparseGate.builder(X_DIM).keyDim(3).topK(2).updater(new Sgd(0.5)).random(GateGradientTest.seeded(3)).build();
    INDArray w0 = g.weight();
    Gating out = g.forward(context(4), keys(4));
    GateGradients grads = g.backward(out, Nd4j.rand(DataType.FLOAT, 4, 4));
    grads.weight().putScalar(0, 1, Float.NaN);
    assertFalse(g.apply(grads));
    assertEquals(w0, g.weight());
    assertEquals(0, g.steps());
    assertEquals(1, g.nonFiniteSkipped());
    grads.weight().putScalar(0, 1, Float.POSITIVE_INFINITY);
    assertFalse(g.apply(grads));
    assertEquals(2, g.nonFiniteSkipped());
    assertTrue(g.apply(g.backward(out, Nd4j.rand(DataType.FLOAT, 4, 4))));
    assertEquals(1, g.steps());
  }

  @Test
  void trainingThroughCombineMovesWeightToTheUsefulPeer() {
    // Peer 0 answers the task (y = tanh(x·A)); peers 1..3 answer noise or zeros.
    SparseGate g =
        SparseGate.builder(X_DIM).keyDim(4).topK(2).random(GateGradientTest.seeded(5))
            .updater(new org.nd4j.linalg.learning.config.Adam(0.05)).build();
    INDArray keys = new SynapseKeys(4, GateGradientTest.seeded(6), 10).keys(List.of("a", "b", "c", "d"));
    Nd4j.getRandom().setSeed(21);
    INDArray a = Nd4j.randn(DataType.FLOAT, X_DIM, 8);
    Dispatcher d = new Dispatcher();
    boolean[] all = {true, true, true, true};
    double before = 0;
    double after = 0;
    for (int step = 0; step < 80; step++) {
      INDArray x = Nd4j.randn(DataType.FLOAT, 16, X_DIM);
      INDArray y = Transforms.tanh(x.mmul(a));
      Gating out = g.forward(x, keys);
      Dispatch dispatch = d.dispatch(x, out.gates());
      List<INDArray> answers = new java.util.ArrayList<>();
      for (int e = 0; e < 4; e++) {
        INDArray in = dispatch.inputs().get(e);
        if (in == null) {
          answers.add(null);
        } else if (e == 0) {
          answers.add(Transforms.tanh(in.mmul(a)));
        } else if (e == 1) {
          answers.add(Nd4j.zeros(DataType.FLOAT, in.size(0), 8));
        } else {
          answers.add(Nd4j.randn(DataType.FLOAT, in.size(0), 8));
        }
      }
      INDArray combined = d.combine(answers, out.gates(), all, new long[] {8});
      INDArray gradCombined = combined.sub(y).mul(2.0 / combined.length());
      CombineGradients cg = d.combineBackward(answers, out.gates(), all, gradCombined);
      g.apply(g.backward(out, cg.gates()));
      double share = out.gates().getColumn(0).meanNumber().doubleValue();
      if (step == 0) {
        before = share;
      }
      after = share;
    }
    assertTrue(after > 0.8 && after > before, "useful peer's weight " + before + " -> " + after);
  }
}
