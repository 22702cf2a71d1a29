package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The analytic gradient of a loss through gate → dispatch → peers → combine (with a failed peer)
 * against central finite differences, in double precision.
 */
class GateGradientTest {
  private static final int X_DIM = 4;
  private static final int KEY_DIM = 3;
  private static final int PEERS = 5;
  private static final int BATCH = 6;
  private static final double EPS = 1e-6;

  private final Dispatcher dispatcher = new Dispatcher();
  private SparseGate gate;
  private INDArray context;
  private INDArray keys;
  private INDArray inputs;
  private INDArray target;
  private boolean[] answered;

  @BeforeEach
  void setUp() {
    Nd4j.getRandom().setSeed(7);
    gate =
        SparseGate.builder(X_DIM)
            .keyDim(KEY_DIM)
            .topK(3)
            .dataType(DataType.DOUBLE)
            .random(seeded(1))
            .build();
    context = Nd4j.randn(DataType.DOUBLE, BATCH, X_DIM);
    keys = new SynapseKeys(KEY_DIM, seeded(2), 100).keys(List.of("a", "b", "c", "d", "e"));
    inputs = Nd4j.randn(DataType.DOUBLE, BATCH, 6);
    target = Nd4j.randn(DataType.DOUBLE, BATCH, 2, 3);
    answered = new boolean[] {true, true, true, true, true};
    // Fail the peer that got the most rows, so renormalization is exercised (k = 3 leaves every
    // row two answering peers, so the gradient is not trivially 0).
    List<int[]> routes = Dispatcher.routes(gate.forward(context, keys).gates());
    int busiest = 0;
    for (int e = 1; e < PEERS; e++) {
      if (routes.get(e).length > routes.get(busiest).length) {
        busiest = e;
      }
    }
    assertTrue(routes.get(busiest).length > 0);
    answered[busiest] = false;
  }

  static RandomGenerator seeded(long seed) {
    return RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
  }

  /** Peer e's deterministic answer: a different nonlinear function of its rows per peer. */
  private static List<INDArray> peers(Dispatch d) {
    List<INDArray> out = new ArrayList<>();
    for (int e = 0; e < d.peers(); e++) {
      INDArray in = d.inputs().get(e);
      out.add(in == null ? null : Transforms.tanh(in.mul(e + 1.0)).reshape(in.size(0), 2, 3));
    }
    return out;
  }

  private double loss(Gating g) {
    List<INDArray> outs = peers(dispatcher.dispatch(inputs, g.gates()));
    return dispatcher.combine(outs, g.gates(), answered).mul(target).sumNumber().doubleValue();
  }

  @Test
  void projectionAndContextGradientsMatchFiniteDifferences() {
    Gating g = gate.forward(context, keys);
    List<INDArray> outs = peers(dispatcher.dispatch(inputs, g.gates()));
    CombineGradients cg = dispatcher.combineBackward(outs, g.gates(), answered, target);
    GateGradients grads = gate.backward(g, cg.gates());

    INDArray w = gate.weight();
    INDArray b = gate.bias();
    for (int i = 0; i < KEY_DIM; i++) {
      for (int j = 0; j < X_DIM; j++) {
        double orig = w.getDouble(i, j);
        w.putScalar(new long[] {i, j}, orig + EPS);
        gate.setParameters(w, b);
        double up = lossSameMask(g);
        w.putScalar(new long[] {i, j}, orig - EPS);
        gate.setParameters(w, b);
        double down = lossSameMask(g);
        w.putScalar(new long[] {i, j}, orig);
        gate.setParameters(w, b);
        assertClose((up - down) / (2 * EPS), grads.weight().getDouble(i, j), "dW[" + i + "," + j + "]");
      }
    }
    for (int i = 0; i < KEY_DIM; i++) {
      double orig = b.getDouble(i);
      b.putScalar(i, orig + EPS);
      gate.setParameters(w, b);
      double up = lossSameMask(g);
      b.putScalar(i, orig - EPS);
      gate.setParameters(w, b);
      double down = lossSameMask(g);
      b.putScalar(i, orig);
      gate.setParameters(w, b);
      assertClose((up - down) / (2 * EPS), grads.bias().getDouble(i), "db[" + i + "]");
    }
    for (int r = 0; r < BATCH; r++) {
      for (int j = 0; j < X_DIM; j++) {
        INDArray c = context.dup();
        c.putScalar(new long[] {r, j}, context.getDouble(r, j) + EPS);
        double up = lossSameMask(gate.forward(c, keys), g);
        c.putScalar(new long[] {r, j}, context.getDouble(r, j) - EPS);
        double down = lossSameMask(gate.forward(c, keys), g);
        assertClose((up - down) / (2 * EPS), grads.context().getDouble(r, j), "dx[" + r + "," + j + "]");
      }
    }
    assertTrue(grads.weight().norm2Number().doubleValue() > 1e-3, "the check must not be vacuous");
  }

  @Test
  void peerOutputGradientsMatchFiniteDifferences() {
    Gating g = gate.forward(context, keys);
    List<INDArray> outs = peers(dispatcher.dispatch(inputs, g.gates()));
    CombineGradients cg = dispatcher.combineBackward(outs, g.gates(), answered, target);
    for (int e = 0; e < PEERS; e++) {
      INDArray out = outs.get(e);
      if (out == null || !answered[e]) {
        assertEquals(null, cg.peerOutputs().get(e), "peer " + e + " gets no gradient");
        continue;
      }
      INDArray flat = out.reshape(out.length());
      for (int i = 0; i < flat.length(); i += 5) {
        double orig = flat.getDouble(i);
        flat.putScalar(i, orig + EPS);
        double up = dispatcher.combine(outs, g.gates(), answered).mul(target).sumNumber().doubleValue();
        flat.putScalar(i, orig - EPS);
        double down = dispatcher.combine(outs, g.gates(), answered).mul(target).sumNumber().doubleValue();
        flat.putScalar(i, orig);
        double analytic = cg.peerOutputs().get(e).reshape(out.length()).getDouble(i);
        assertClose((up - down) / (2 * EPS), analytic, "dOut" + e + "[" + i + "]");
      }
    }
  }

  private double lossSameMask(Gating reference) {
    return lossSameMask(gate.forward(context, keys), reference);
  }

  /** A perturbation that flips the top-k choice would make the difference quotient meaningless. */
  private double lossSameMask(Gating perturbed, Gating reference) {
    assertEquals(reference.mask(), perturbed.mask(), "perturbation changed the top-k choice");
    return loss(perturbed);
  }

  private static void assertClose(double expected, double actual, String what) {
    assertEquals(expected, actual, 1e-6 + 1e-5 * Math.abs(expected), what);
  }
}
