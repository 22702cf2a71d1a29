package io.bittensor.router;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The trainable, sparse top-k gate: which peers each example is sent to, and with what weight.
 *
 * <pre>
 *   query  = context · Wᵀ + b            W: [keyDim, xDim], b: [keyDim]   (like torch.nn.Linear)
 *   scores = query · keysᵀ                [batch, n]
 *   gates  = softmax over each row's top k scores, exactly 0 for the other n - k
 * </pre>
 *
 * <p>k = min(topK, n). Ties are broken by peer index: the lower index is kept. The top-k choice is
 * a selection, not differentiable; given it, the gates are a smooth function of W, b and the context.
 *
 * <p><b>Training.</b> The gate is a layer with an explicit forward and backward, so it fits any
 * caller model: {@link #forward} gives a {@link Gating}; the caller gets d loss / d gates (the
 * {@link Dispatcher#combineBackward combine backward} gives it when the loss is on the combined
 * peer outputs, and gate-level losses such as load balancing can be added to it); {@link #backward}
 * turns that into {@link GateGradients} (projection weight, bias, and the context, to continue into
 * the caller's own graph); {@link #apply} takes one updater step (Adam by default). Forward and
 * backward are a handful of plain ND4J ops each, the top-k mask a constant of the backward: a
 * SameDiff graph of the same math cost more in per-call overhead than in arithmetic, on the
 * training thread at every step ({@code GateGradientTest} checks the backward against finite
 * differences).
 *
 * <p>Thread-safe: calls on one gate are serialised.
 */
public final class SparseGate {

  /** Original's defaults (bittensor synapses: key_dim 100, topk 10). */
  public static final int DEFAULT_KEY_DIM = 100;

  public static final int DEFAULT_TOP_K = 10;

  // Added to dropped scores before the softmax so exp() gives exactly 0 there; finite, unlike -inf,
  // so 0 * LARGE stays 0 and no NaN reaches the gradient.
  private static final double DROPPED = -1e30;

  private final int xDim;
  private final int keyDim;
  private final int topK;
  private final DataType dataType;
  private final IUpdater updaterConfig;
  private final INDArray weight;
  private final INDArray bias;
  private final GradientUpdater<?> updater;
  private final INDArray updaterState;
  private int steps;
  private int nonFiniteSkipped;

  private SparseGate(Builder b) {
    this.xDim = b.xDim;
    this.keyDim = b.keyDim;
    this.topK = b.topK;
    this.dataType = b.dataType;
    this.updaterConfig = b.updater.clone();

    // torch.nn.Linear's initialisation: U(-1/sqrt(xDim), 1/sqrt(xDim)) for weight and bias.
    double bound = 1.0 / Math.sqrt(xDim);
    RandomGenerator random = b.random;
    double[] w = new double[keyDim * xDim];
    for (int i = 0; i < w.length; i++) {
      w[i] = random.nextDouble(-bound, bound);
    }
    double[] bb = new double[keyDim];
    for (int i = 0; i < bb.length; i++) {
      bb[i] = random.nextDouble(-bound, bound);
    }

    weight = Nd4j.create(w, new long[] {keyDim, xDim}, dataType);
    bias = Nd4j.create(bb, new long[] {keyDim}, dataType);

    long params = (long) keyDim * xDim + keyDim;
    long stateSize = updaterConfig.stateSize(params);
    updaterState = stateSize > 0 ? Nd4j.zeros(dataType, 1, stateSize) : null;
    updater = updaterConfig.instantiate(updaterState, true);
  }

  public static Builder builder(int xDim) {
    return new Builder(xDim);
  }

  public int xDim() {
    return xDim;
  }

  public int keyDim() {
    return keyDim;
  }

  public int topK() {
    return topK;
  }

  public DataType dataType() {
    return dataType;
  }

  /** Updater steps taken so far. */
  public synchronized int steps() {
    return steps;
  }

  /** A copy of the projection weight [keyDim, xDim]. */
  public synchronized INDArray weight() {
    return weight.dup();
  }

  /** A copy of the projection bias [keyDim]. */
  public synchronized INDArray bias() {
    return bias.dup();
  }

  /** The trainable parameters by name ("W", "b"), as copies, e.g. for a checkpoint. */
  public synchronized Map<String, INDArray> parameters() {
    Map<String, INDArray> m = new HashMap<>();
    m.put("W", weight.dup());
    m.put("b", bias.dup());
    return m;
  }

  /** Replaces the projection (e.g. from a checkpoint). Updater state is kept. */
  public synchronized void setParameters(INDArray newWeight, INDArray newBias) {
    requireShape(newWeight, "weight", keyDim, xDim);
    requireShape(newBias.reshape(newBias.length()), "bias", keyDim);
    weight.assign(newWeight.castTo(dataType));
    bias.assign(newBias.reshape(keyDim).castTo(dataType));
  }

  /** query · keysᵀ [batch, n] without the top-k; see {@link #forward} for the arguments. */
  public synchronized INDArray scores(INDArray context, INDArray keys) {
    INDArray x = checkContext(context);
    INDArray k = checkKeys(keys);
    if (x.size(0) == 0 || k.size(0) == 0) {
      return Nd4j.zeros(dataType, x.size(0), k.size(0));
    }
    return scoresOf(x, k);
  }

  /**
   * query · keysᵀ with plain ND4J ops: the graph's forward, without SameDiff's per-call overhead
   * (two graph runs per gating cost the training thread more than the arithmetic).
   */
  private INDArray scoresOf(INDArray x, INDArray k) {
    return x.mmul(weight.transpose()).addiRowVector(bias).mmul(k.transpose());
  }

  /**
   * Scores the peers for each example and keeps the top k.
   *
   * @param context [batch, xDim]; cast to the gate's data type if needed
   * @param keys [n, keyDim], one row per peer ({@link SynapseKeys#keys}); n may be 0
   * @throws IllegalArgumentException if a rank or width is wrong
   */
  public synchronized Gating forward(INDArray context, INDArray keys) {
    INDArray x = checkContext(context);
    INDArray k = checkKeys(keys);
    long batch = x.size(0);
    int n = (int) k.size(0);
    int kept = Math.min(topK, n);
    if (batch == 0 || n == 0) {
      INDArray empty = Nd4j.zeros(dataType, batch, n);
      return new Gating(x, k, empty, empty.dup(), empty.dup(), kept);
    }
    INDArray scores = scoresOf(x, k);
    INDArray mask = topKMask(scores, kept);
    // As the graph's "gates", which backward differentiates: dropped scores become DROPPED.
    INDArray masked = scores.mul(mask).addi(mask.rsub(1.0).muli(DROPPED));
    INDArray gates = Nd4j.exec(new SoftMax(masked, masked, 1))[0].muli(mask);
    return new Gating(x, k, scores, mask, gates, kept);
  }

  /**
   * Gradients of a loss w.r.t. the projection and the context, given d loss / d gates. Entries of
   * {@code gradGates} at dropped peers have no effect (those gates are constant 0).
   *
   * @param gating the forward pass the loss was computed from
   * @param gradGates d loss / d gates [batch, n]
   */
  public synchronized GateGradients backward(Gating gating, INDArray gradGates) {
    Objects.requireNonNull(gating, "gating");
    requireShape(gradGates, "gradGates", gating.batchSize(), gating.peers());
    if (gating.batchSize() == 0 || gating.peers() == 0) {
      return new GateGradients(
          Nd4j.zeros(dataType, keyDim, xDim),
          Nd4j.zeros(dataType, keyDim),
          Nd4j.zeros(dataType, gating.batchSize(), xDim));
    }
    // gates = softmax(masked) ⊙ mask, and softmax is exactly 0 where mask is 0, so through the
    // softmax: d scores = gates ⊙ (dG − Σ_row gates ⊙ dG), at kept entries (mask) only.
    INDArray gates = gating.gates();
    INDArray dG = gradGates.castTo(dataType).mul(gating.mask());
    INDArray inner = gates.mul(dG).sum(true, 1);
    INDArray dScores = dG.subiColumnVector(inner).muli(gates); // gates are 0 off the mask
    // scores = query · keysᵀ, query = x · Wᵀ + b.
    INDArray dQuery = dScores.mmul(gating.keys()); // [batch, keyDim]
    INDArray dWeight = dQuery.transpose().mmul(gating.context()); // [keyDim, xDim]
    INDArray dBias = dQuery.sum(0); // [keyDim]
    INDArray dContext = dQuery.mmul(weight); // [batch, xDim]
    return new GateGradients(dWeight, dBias, dContext);
  }

  /**
   * One updater step (descent) on the projection with these gradients. A gradient holding NaN or
   * infinity is skipped and counted ({@link #nonFiniteSkipped}) instead: one such step would leave
   * the projection NaN, and every later gating with it.
   *
   * @return whether the step was taken
   */
  public synchronized boolean apply(GateGradients gradients) {
    requireShape(gradients.weight(), "weight gradient", keyDim, xDim);
    requireShape(gradients.bias(), "bias gradient", keyDim);
    long nw = (long) keyDim * xDim;
    // One flat [1, P] gradient, the layout ND4J's updaters keep their state in.
    INDArray flat =
        Nd4j.hstack(
                gradients.weight().castTo(dataType).reshape(1, nw),
                gradients.bias().castTo(dataType).reshape(1, keyDim))
            .dup('c');
    if (!Double.isFinite(flat.sumNumber().doubleValue())) {
      nonFiniteSkipped++;
      return false;
    }
    updater.applyUpdater(flat, steps, 0);
    weight.subi(flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(0, nw)).reshape(keyDim, xDim));
    bias.subi(flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(nw, nw + keyDim)));
    steps++;
    return true;
  }

  /** Updater steps skipped because their gradient held NaN or infinity. */
  public synchronized int nonFiniteSkipped() {
    return nonFiniteSkipped;
  }

  /** The updater configuration (a copy). */
  public IUpdater updater() {
    return updaterConfig.clone();
  }

  /**
   * 1 at each row's k highest scores, else 0. Ties go to the lower peer index. A NaN score counts
   * as −∞, so a broken score is never preferred over a real one. O(n log k) per row.
   */
  static INDArray topKMask(INDArray scores, int k) {
    int batch = (int) scores.size(0);
    int n = (int) scores.size(1);
    double[] s = RowMajor.doubles(scores);
    double[] mask = new double[batch * n];
    // A min-heap of the k best so far: its root is the worst kept peer.
    double[] hs = new double[k];
    int[] hi = new int[k];
    for (int r = 0; r < batch; r++) {
      int size = 0;
      for (int i = 0; i < n; i++) {
        double v = Double.isNaN(s[r * n + i]) ? Double.NEGATIVE_INFINITY : s[r * n + i];
        if (size < k) {
          hs[size] = v;
          hi[size] = i;
          siftUp(hs, hi, size++);
        } else if (v > hs[0]) { // equal scores: the earlier (lower) index stays
          hs[0] = v;
          hi[0] = i;
          siftDown(hs, hi, size);
        }
      }
      for (int j = 0; j < size; j++) {
        mask[r * n + hi[j]] = 1.0;
      }
    }
    return Nd4j.create(mask, new long[] {batch, n}, scores.dataType());
  }

  /** Whether kept entry a is worse than b: lower score, or equal score and higher index. */
  private static boolean worse(double[] hs, int[] hi, int a, int b) {
    return hs[a] < hs[b] || (hs[a] == hs[b] && hi[a] > hi[b]);
  }

  private static void siftUp(double[] hs, int[] hi, int i) {
    while (i > 0) {
      int parent = (i - 1) / 2;
      if (!worse(hs, hi, i, parent)) {
        return;
      }
      swap(hs, hi, i, parent);
      i = parent;
    }
  }

  private static void siftDown(double[] hs, int[] hi, int size) {
    int i = 0;
    while (true) {
      int worst = i;
      int left = 2 * i + 1;
      int right = left + 1;
      if (left < size && worse(hs, hi, left, worst)) {
        worst = left;
      }
      if (right < size && worse(hs, hi, right, worst)) {
        worst = right;
      }
      if (worst == i) {
        return;
      }
      swap(hs, hi, i, worst);
      i = worst;
    }
  }

  private static void swap(double[] hs, int[] hi, int a, int b) {
    double ts = hs[a];
    hs[a] = hs[b];
    hs[b] = ts;
    int ti = hi[a];
    hi[a] = hi[b];
    hi[b] = ti;
  }

  private INDArray checkContext(INDArray context) {
    Objects.requireNonNull(context, "context");
    if (context.rank() != 2) {
      throw new IllegalArgumentException(
          "the routing context must be rank 2 [batch, x_dim]; got rank "
              + context.rank()
              + " "
              + Arrays.toString(context.shape()));
    }
    if (context.size(1) != xDim) {
      throw new IllegalArgumentException(
          "the routing context must have x_dim = "
              + xDim
              + " columns; got "
              + Arrays.toString(context.shape()));
    }
    if (!context.dataType().isFPType()) {
      throw new IllegalArgumentException(
          "the routing context must be floating point; got " + context.dataType());
    }
    return context.castTo(dataType);
  }

  private INDArray checkKeys(INDArray keys) {
    Objects.requireNonNull(keys, "keys");
    if (keys.rank() != 2 || keys.size(1) != keyDim) {
      throw new IllegalArgumentException(
          "keys must be [n, key_dim = " + keyDim + "]; got " + Arrays.toString(keys.shape()));
    }
    return keys.castTo(dataType);
  }

  static void requireShape(INDArray a, String what, long... shape) {
    Objects.requireNonNull(a, what);
    if (!Arrays.equals(a.shape(), shape)) {
      throw new IllegalArgumentException(
          what + " must have shape " + Arrays.toString(shape) + "; got " + Arrays.toString(a.shape()));
    }
  }

  /** Settings of a {@link SparseGate}. */
  public static final class Builder {
    private final int xDim;
    private int keyDim = DEFAULT_KEY_DIM;
    private int topK = DEFAULT_TOP_K;
    private DataType dataType = DataType.FLOAT;
    private IUpdater updater = new Adam(1e-3);
    private RandomGenerator random = RandomGenerator.of("L64X128MixRandom");

    private Builder(int xDim) {
      if (xDim < 1) {
        throw new IllegalArgumentException("xDim must be >= 1, got " + xDim);
      }
      this.xDim = xDim;
    }

    /** Length of the query and of every key. Default {@value #DEFAULT_KEY_DIM}. */
    public Builder keyDim(int keyDim) {
      if (keyDim < 1) {
        throw new IllegalArgumentException("keyDim must be >= 1, got " + keyDim);
      }
      this.keyDim = keyDim;
      return this;
    }

    /** Peers kept per example (fewer if fewer peers). Default {@value #DEFAULT_TOP_K}. */
    public Builder topK(int topK) {
      if (topK < 1) {
        throw new IllegalArgumentException("topK must be >= 1, got " + topK);
      }
      this.topK = topK;
      return this;
    }

    /** FLOAT (default) or DOUBLE. */
    public Builder dataType(DataType dataType) {
      if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
        throw new IllegalArgumentException("dataType must be FLOAT or DOUBLE, got " + dataType);
      }
      this.dataType = dataType;
      return this;
    }

    /** The optimiser {@link #apply} uses. Default Adam, learning rate 1e-3. */
    public Builder updater(IUpdater updater) {
      this.updater = Objects.requireNonNull(updater, "updater");
      return this;
    }

    /** Source of the initial projection (seed it for reproducibility). */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    public SparseGate build() {
      return new SparseGate(this);
    }
  }
}
