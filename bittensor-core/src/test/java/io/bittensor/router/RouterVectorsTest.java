package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The shared semantic vectors (semantic-vectors/router.json), computed by the reference code. */
class RouterVectorsTest {
  private static final double TOL = 1e-5;
  private static JsonNode v;
  private static SparseGate gate;
  private static INDArray x;
  private static INDArray keys;

  @BeforeAll
  static void load() {
    v = Vectors.load("/semantic-vectors/router.json");
    gate =
        SparseGate.builder(v.get("x_dim").asInt())
            .keyDim(v.get("key_dim").asInt())
            .topK(v.get("topk").asInt())
            .build();
    gate.setParameters(
        Vectors.array(v.get("projection_weight"), DataType.FLOAT),
        Vectors.array(v.get("projection_bias"), DataType.FLOAT));
    x = Vectors.array(v.get("x"), DataType.FLOAT);
    keys = Vectors.array(v.get("keys"), DataType.FLOAT);
  }

  @Test
  void scoresMatchReference() {
    assertClose(Vectors.array(v.get("scores"), DataType.FLOAT), gate.scores(x, keys));
    assertClose(Vectors.array(v.get("scores"), DataType.FLOAT), gate.forward(x, keys).scores());
  }

  @Test
  void sparseGatesMatchReferenceAndAreExactlyZeroOffTopK() {
    Gating g = gate.forward(x, keys);
    INDArray expected = Vectors.array(v.get("sparse_gates"), DataType.FLOAT);
    assertClose(expected, g.gates());
    int n = v.get("n_keys").asInt();
    int k = v.get("topk").asInt();
    assertEquals(k, g.k());
    for (int b = 0; b < g.batchSize(); b++) {
      double[] row = g.gates().getRow(b).toDoubleVector();
      assertEquals(n - k, Arrays.stream(row).filter(d -> d == 0.0).count(), "row " + b);
      assertEquals(1.0, Arrays.stream(row).sum(), TOL);
    }
    // The reference's dense bug would give every peer every row: ours must not.
    INDArray dense = Vectors.array(v.get("reference_dense_gates"), DataType.FLOAT);
    assertTrue(dense.neq(0.0).castTo(DataType.INT32).sumNumber().intValue() > k * g.batchSize());
  }

  @Test
  void dispatchGivesEachPeerItsRows() {
    INDArray gates = Vectors.array(v.get("sparse_gates"), DataType.FLOAT);
    INDArray inputs = Vectors.array(v.get("dispatch_inputs"), DataType.FLOAT);
    Dispatch d = new Dispatcher().dispatch(inputs, gates);
    List<INDArray> expected = Vectors.arrays(v.get("dispatched"), DataType.FLOAT);
    assertEquals(expected.size(), d.peers());
    for (int e = 0; e < expected.size(); e++) {
      if (expected.get(e) == null) {
        assertNull(d.inputs().get(e), "peer " + e);
        assertEquals(0, d.rows().get(e).length);
      } else {
        assertEquals(expected.get(e), d.inputs().get(e), "peer " + e);
      }
    }
    assertArrayEquals(new int[] {2}, d.rows().get(0));
    assertArrayEquals(new int[] {1, 2}, d.rows().get(1));
  }

  @Test
  void combineWeighsOutputsByGates() {
    INDArray gates = Vectors.array(v.get("sparse_gates"), DataType.FLOAT);
    List<INDArray> outputs = Vectors.arrays(v.get("expert_outputs"), DataType.FLOAT);
    boolean[] answered = new boolean[outputs.size()];
    Arrays.fill(answered, true);
    INDArray combined = new Dispatcher().combine(outputs, gates, answered);
    assertClose(Vectors.array(v.get("combined"), DataType.FLOAT), combined);
  }

  static void assertClose(INDArray expected, INDArray actual) {
    assertArrayEquals(expected.shape(), actual.shape());
    double[] e = expected.castTo(DataType.DOUBLE).reshape(expected.length()).toDoubleVector();
    double[] a = actual.castTo(DataType.DOUBLE).reshape(actual.length()).toDoubleVector();
    for (int i = 0; i < e.length; i++) {
      assertEquals(e[i], a[i], TOL, "element " + i);
    }
  }
}
