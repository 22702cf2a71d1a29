package io.bittensor.router;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.reduce3.Dot;
import org.nd4j.linalg.api.ops.impl.transforms.segment.UnsortedSegmentSum;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Splits a batch among peers by its gates and recombines their answers (a sparse mixture of
 * experts).
 *
 * <ul>
 *   <li>{@link #dispatch}: peer e gets the rows b with gates[b, e] != 0, in row order. Inputs may
 *       have any rank and data type, batch on axis 0 (TEXT [batch, seq] int64, IMAGE [batch, seq,
 *       c, h, w], TENSOR [batch, seq, d]). A peer with no rows gets {@code null}: do not call it.
 *   <li>{@link #combine}: out[b] = Σ_e g'[b, e] · out_e[position of b among e's rows], where g' are
 *       the gates renormalized over the peers that answered: g'[b, e] = g[b, e]·a_e / Σ_j g[b, j]·a_j
 *       (a_e = 1 if peer e answered). That is the softmax over the kept scores with a failed peer's
 *       score set to −∞. A row none of whose peers answered combines to zeros.
 *   <li>{@link #combineBackward}: the gradients of a loss on the combined output w.r.t. the gates
 *       (for {@link SparseGate#backward}) and w.r.t. each peer's output (for the peer's Backward).
 * </ul>
 *
 * <p>Rows move with ND4J's bulk ops (pullRows gathers, scatter_add in place), one op per
 * peer. Stateless and thread-safe. The arithmetic of combine runs in the gates' data type.
 */
public final class Dispatcher {
  /**
   * The least gate mass of a row's answering peers that {@link #combineBackward} divides by. The
   * gradient w.r.t. the scores behind the gates stays bounded as that mass goes to 0, but the one
   * w.r.t. the gates grows as 1/mass; below this floor a row's gate gradient is damped (by
   * mass / floor) instead of overflowing. Healthy rows hold far more.
   */
  static final double MIN_ANSWERED_MASS = 1e-12;

  /** Per peer, the ascending row indices b with gates[b, e] != 0. */
  public static List<int[]> routes(INDArray gates) {
    checkGates(gates);
    int batch = (int) gates.size(0);
    int n = (int) gates.size(1);
    double[] g = RowMajor.doubles(gates);
    List<int[]> rows = new ArrayList<>(n);
    for (int e = 0; e < n; e++) {
      int count = 0;
      int[] r = new int[batch];
      for (int b = 0; b < batch; b++) {
        if (g[b * n + e] != 0.0) {
          r[count++] = b;
        }
      }
      rows.add(Arrays.copyOf(r, count));
    }
    return rows;
  }

  /**
   * The gates with failed peers' weight moved onto the peers that answered, row by row; rows with
   * no answering peer become all zero.
   */
  public static INDArray renormalize(INDArray gates, boolean[] answered) {
    checkGates(gates);
    checkAnswered(answered, (int) gates.size(1));
    if (gates.isEmpty()) { // no rows or no peers: ND4J refuses broadcasts on empty arrays
      return gates.dup();
    }
    INDArray kept = gates.mulRowVector(answeredMask(answered, gates.dataType()));
    return kept.divColumnVector(safeRowSums(kept));
  }

  /**
   * Each peer's rows of {@code inputs}.
   *
   * @param inputs [batch, …] any rank >= 1, any data type
   * @param gates [batch, n]
   */
  public Dispatch dispatch(INDArray inputs, INDArray gates) {
    Objects.requireNonNull(inputs, "inputs");
    checkGates(gates);
    if (inputs.rank() < 1 || inputs.size(0) != gates.size(0)) {
      throw new IllegalArgumentException(
          "inputs must have the gates' batch size "
              + gates.size(0)
              + " on axis 0; got "
              + Arrays.toString(inputs.shape()));
    }
    List<int[]> rows = routes(gates);
    INDArray flat = asRows(inputs);
    long[] rowShape = rowShape(inputs);
    List<INDArray> out = new ArrayList<>(rows.size());
    for (int[] r : rows) {
      out.add(r.length == 0 ? null : Nd4j.pullRows(flat, 1, r).reshape(withBatch(r.length, rowShape)));
    }
    return new Dispatch(Collections.unmodifiableList(out), Collections.unmodifiableList(rows));
  }

  /**
   * The adjoint of {@link #dispatch}: each peer's per-row arrays (e.g. its gradient w.r.t. the rows
   * it was sent) summed back into batch order. Rows no peer contributed to are 0.
   *
   * @param perPeer per peer, [m, rowShape…] for its rows, or {@code null} to skip that peer
   * @param rows per peer, the row indices of its rows ({@link Dispatch#rows()})
   * @param shape the batch's shape [batch, rowShape…]
   * @param dataType the result's data type (floating point)
   */
  public INDArray dispatchBackward(
      List<INDArray> perPeer, List<int[]> rows, long[] shape, DataType dataType) {
    Objects.requireNonNull(perPeer, "perPeer");
    if (perPeer.size() != rows.size()) {
      throw new IllegalArgumentException(
          rows.size() + " peers but " + perPeer.size() + " per-peer arrays");
    }
    long[] rowShape = Arrays.copyOfRange(shape, 1, shape.length);
    long width = 1;
    for (long d : rowShape) {
      width *= d;
    }
    INDArray sum = Nd4j.zeros(dataType, shape[0], width);
    for (int e = 0; e < perPeer.size(); e++) {
      INDArray part = perPeer.get(e);
      int[] r = rows.get(e);
      if (part == null || r.length == 0) {
        continue;
      }
      if (!Arrays.equals(part.shape(), withBatch(r.length, rowShape))) {
        throw new IllegalArgumentException(
            "peer " + e + ": expected " + Arrays.toString(withBatch(r.length, rowShape))
                + ", got " + Arrays.toString(part.shape()));
      }
      scatterAddRows(sum, r, asRows(part).castTo(dataType));
    }
    return sum.reshape(shape);
  }

  /**
   * The gate-weighted sum of the peers' outputs, shape taken from the outputs.
   *
   * @throws IllegalArgumentException if no answered peer got rows (the shape is unknown: use the
   *     overload with a row shape)
   */
  public INDArray combine(List<INDArray> peerOutputs, INDArray gates, boolean[] answered) {
    return combine(peerOutputs, gates, answered, null);
  }

  /**
   * The gate-weighted sum of the peers' outputs [batch, rowShape…].
   *
   * @param peerOutputs per peer, its output for the rows {@link #dispatch} gave it [m, rowShape…];
   *     {@code null} or anything for a peer that got no rows or did not answer
   * @param gates [batch, n], the same gates the batch was dispatched with
   * @param answered per peer, whether its output is real (a failed call's output is ignored)
   * @param rowShape the shape of one output row, or {@code null} to take it from the outputs
   * @throws IllegalArgumentException if an answered output's shape does not fit its rows
   */
  public INDArray combine(
      List<INDArray> peerOutputs, INDArray gates, boolean[] answered, long[] rowShape) {
    Combination c = prepare(peerOutputs, gates, answered, rowShape);
    int batch = (int) gates.size(0);
    INDArray combined = Nd4j.zeros(gates.dataType(), batch, c.width());
    for (int e : c.contributing()) {
      int[] r = c.rows().get(e);
      INDArray w = c.effective().getColumn(e, true); // [batch, 1]
      // Peer e's rows times their weights g'[r, e], added into place. A peer's rows are distinct,
      // so one scatter-add per peer never adds twice to a row within one op.
      INDArray weighted = c.flatOutputs().get(e).mulColumnVector(Nd4j.pullRows(w, 1, r));
      scatterAddRows(combined, r, weighted);
    }
    return combined.reshape(withBatch(batch, c.rowShape()));
  }

  /**
   * Gradients of a loss through {@link #combine}, given d loss / d combined output.
   *
   * @param gradCombined [batch, rowShape…]
   */
  public CombineGradients combineBackward(
      List<INDArray> peerOutputs, INDArray gates, boolean[] answered, INDArray gradCombined) {
    Objects.requireNonNull(gradCombined, "gradCombined");
    long[] rowShape = rowShape(gradCombined);
    Combination c = prepare(peerOutputs, gates, answered, rowShape);
    int batch = (int) gates.size(0);
    int n = (int) gates.size(1);
    if (gradCombined.size(0) != batch) {
      throw new IllegalArgumentException(
          "gradCombined must have batch size " + batch + "; got " + Arrays.toString(gradCombined.shape()));
    }
    DataType dt = gates.dataType();
    if (gates.isEmpty()) {
      return new CombineGradients(
          Nd4j.zeros(dt, batch, n), Collections.unmodifiableList(Arrays.asList(new INDArray[n])));
    }
    INDArray dC = asRows(gradCombined).castTo(dt);
    // d loss / d g'[b, e] = <dC[b], out_e[b]>, nonzero only where e answered row b.
    INDArray dEffective = Nd4j.zeros(dt, batch, n);
    List<INDArray> dOutputs = new ArrayList<>(Collections.nCopies(n, (INDArray) null));
    for (int e : c.contributing()) {
      int[] r = c.rows().get(e);
      INDArray dCRows = Nd4j.pullRows(dC, 1, r); // [m, D], a fresh copy
      INDArray dots = Nd4j.exec(new Dot(c.flatOutputs().get(e), dCRows, 1)); // row-wise, [m]
      dEffective.putColumn(e, segmentSum(dots, Nd4j.createFromArray(r), batch));
      INDArray w = c.effective().getColumn(e, true); // [batch, 1]
      dOutputs.set(
          e, dCRows.muliColumnVector(Nd4j.pullRows(w, 1, r)).reshape(withBatch(r.length, rowShape)));
    }
    // g' = h / s with h = g·a, s = Σ_e h:  d/dh = (dg' − Σ_j g'_j dg'_j) / s; rows with s = 0 get 0.
    // s is floored at MIN_ANSWERED_MASS: when a dead peer held nearly all of a row's gate (s can
    // be a denormal float), 1/s overflowed to infinity and inf·0 turned the gate NaN for good.
    INDArray a = answeredMask(answered, dt);
    INDArray h = gates.mulRowVector(a);
    INDArray s = Transforms.max(h.sum(true, 1), MIN_ANSWERED_MASS, false); // s = 0 rows: numerator 0
    INDArray inner = c.effective().mul(dEffective).sum(true, 1); // [batch, 1]
    INDArray dGates = dEffective.subColumnVector(inner).mulRowVector(a).divColumnVector(s);
    // Only routed gates are variables of combine; zero gates are structurally absent.
    dGates.muli(gates.neq(0.0).castTo(dt));
    return new CombineGradients(dGates, Collections.unmodifiableList(dOutputs));
  }

  // ---- internals ----

  /** What combine and its backward share: routing, effective gates, validated flat outputs. */
  private record Combination(
      List<int[]> rows,
      INDArray effective,
      List<Integer> contributing,
      List<INDArray> flatOutputs,
      long[] rowShape,
      long width) {}

  private static Combination prepare(
      List<INDArray> peerOutputs, INDArray gates, boolean[] answered, long[] rowShape) {
    Objects.requireNonNull(peerOutputs, "peerOutputs");
    checkGates(gates);
    int n = (int) gates.size(1);
    checkAnswered(answered, n);
    if (peerOutputs.size() != n) {
      throw new IllegalArgumentException(
          "expected one output per peer (" + n + "); got " + peerOutputs.size());
    }
    List<int[]> rows = routes(gates);
    List<Integer> contributing = new ArrayList<>();
    long[] shape = rowShape == null ? null : rowShape.clone();
    for (int e = 0; e < n; e++) {
      if (!answered[e] || rows.get(e).length == 0) {
        continue;
      }
      INDArray out = peerOutputs.get(e);
      if (out == null) {
        throw new IllegalArgumentException("peer " + e + " answered but its output is null");
      }
      if (shape == null) {
        shape = rowShape(out);
      }
      if (!Arrays.equals(out.shape(), withBatch(rows.get(e).length, shape))) {
        throw new IllegalArgumentException(
            "peer "
                + e
                + " got "
                + rows.get(e).length
                + " rows, so its output must be "
                + Arrays.toString(withBatch(rows.get(e).length, shape))
                + "; got "
                + Arrays.toString(out.shape()));
      }
      contributing.add(e);
    }
    if (shape == null) {
      throw new IllegalArgumentException(
          "no peer answered any row, so the output shape is unknown: pass the row shape");
    }
    long width = 1;
    for (long d : shape) {
      width *= d;
    }
    List<INDArray> flat = new ArrayList<>(Collections.nCopies(n, (INDArray) null));
    for (int e : contributing) {
      flat.set(e, asRows(peerOutputs.get(e)).castTo(gates.dataType()));
    }
    return new Combination(rows, renormalize(gates, answered), contributing, flat, shape, width);
  }

  private static void checkGates(INDArray gates) {
    Objects.requireNonNull(gates, "gates");
    if (gates.rank() != 2) {
      throw new IllegalArgumentException(
          "gates must be rank 2 [batch, peers]; got " + Arrays.toString(gates.shape()));
    }
    if (!gates.dataType().isFPType()) {
      throw new IllegalArgumentException("gates must be floating point; got " + gates.dataType());
    }
  }

  private static void checkAnswered(boolean[] answered, int n) {
    Objects.requireNonNull(answered, "answered");
    if (answered.length != n) {
      throw new IllegalArgumentException(
          "answered must have one flag per peer (" + n + "); got " + answered.length);
    }
  }

  private static INDArray answeredMask(boolean[] answered, DataType dt) {
    double[] a = new double[answered.length];
    for (int e = 0; e < a.length; e++) {
      a[e] = answered[e] ? 1.0 : 0.0;
    }
    return Nd4j.create(a, new long[] {a.length}, dt);
  }

  /** Row sums [batch, 1], with 1 where a row sums to 0 so that dividing leaves it at 0. */
  private static INDArray safeRowSums(INDArray m) {
    INDArray s = m.sum(true, 1);
    return s.addi(s.eq(0.0).castTo(s.dataType()));
  }

  /** [batch, …] as [batch, D] (a view when the layout allows). */
  private static INDArray asRows(INDArray a) {
    long width = 1;
    for (int i = 1; i < a.rank(); i++) {
      width *= a.size(i);
    }
    return a.reshape('c', a.size(0), width);
  }

  private static long[] rowShape(INDArray a) {
    return Arrays.copyOfRange(a.shape(), 1, a.rank());
  }

  private static long[] withBatch(long batch, long[] rowShape) {
    long[] s = new long[rowShape.length + 1];
    s[0] = batch;
    System.arraycopy(rowShape, 0, s, 1, rowShape.length);
    return s;
  }

  /** target[rows[i]] += updates[i], in place (libnd4j's scatter_add with target as its output). */
  private static void scatterAddRows(INDArray target, int[] rows, INDArray updates) {
    Nd4j.exec(
        DynamicCustomOp.builder("scatter_add")
            .addInputs(target, Nd4j.createFromArray(rows), updates)
            .addOutputs(target)
            .build());
  }

  /** out[i] = Σ data[j] over j with ids[j] = i, for i < segments. */
  private static INDArray segmentSum(INDArray data, INDArray ids, int segments) {
    return Nd4j.exec(new UnsortedSegmentSum(data, ids, segments))[0];
  }
}
