package io.bittensor.router;

import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * Keys + gate + dispatcher + Dendrite: from a context, raw inputs and the current synapses to the
 * combined network output, one call.
 *
 * <pre>{@code
 * Router router = Router.builder(xDim, dendrite).topK(10).build();
 * RouterCall call = router.forward(context, inputs, Modality.IMAGE, metagraphSynapses);
 * INDArray network = call.output();                 // [batch, seq, 512]
 * // … caller's model and loss; its graph gives dLoss/dNetwork …
 * RouterGradients g = call.backward(dLossDNetwork); // peers get their rows' gradients (Backward)
 * router.apply(g);                                  // one updater step on the gate
 * }</pre>
 *
 * <p>Each example goes to its top-k peers only; peers that got no rows are not called. A peer whose
 * call failed gets no weight (its rows are renormalized over the peers that answered, see
 * {@link Dispatcher}); with no peers at all the output is zeros and no call is made.
 *
 * <p>Does not own the Dendrite (the caller closes it). Thread-safe: the gate and the keys serialise
 * their own state; several {@code forward} calls may be in flight.
 */
public final class Router {

  private final SynapseKeys keys;
  private final SparseGate gate;
  private final Dispatcher dispatcher = new Dispatcher();
  private final Dendrite dendrite;

  private Router(Builder b) {
    this.dendrite = b.dendrite;
    this.gate = b.gate.build(); // draws the initial projection first, then keys come from random
    this.keys = new SynapseKeys(gate.keyDim(), b.random, b.keyCapacity);
  }

  /**
   * @param xDim width of the routing context
   * @param dendrite the client the peers are called with (not closed by the router)
   */
  public static Builder builder(int xDim, Dendrite dendrite) {
    return new Builder(xDim, dendrite);
  }

  public SparseGate gate() {
    return gate;
  }

  public SynapseKeys keys() {
    return keys;
  }

  /** Forgets the keys of synapses no longer in the metagraph. */
  public void retain(Collection<String> currentSynapseKeys) {
    keys.retain(currentSynapseKeys);
  }

  /**
   * Routes a batch: scores the synapses, sends each its rows, combines the answers.
   *
   * @param context [batch, xDim] floating point, what the gate scores the peers from
   * @param inputs [batch, seq, …] the raw inputs for the peers (TEXT [batch, seq] int64, IMAGE
   *     [batch, seq, c, h, w], TENSOR [batch, seq, d])
   * @param modality which forward the peers run
   * @param synapses the candidate peers; may be empty. Only those that take this batch (its
   *     modality and shape, by {@link ServedInputs#accepts}) are scored and called; {@link
   *     RouterCall#synapses()} lists them, and the gates' columns refer to that list
   * @throws IllegalArgumentException on a context of the wrong rank or width, inputs of rank {@literal <} 2,
   *     or inputs and context of different batch sizes
   */
  public RouterCall forward(
      INDArray context, INDArray inputs, Modality modality, List<Synapse> synapses) {
    return route(context, inputs, modality, synapses).await();
  }

  /**
   * As {@link #forward}, without waiting for the peers: gates, dispatches and sends the calls now,
   * and {@link PendingRoute#await} combines the answers later. A trainer can thus route its next
   * batch before it trains on this one, so that the peers compute while it does.
   *
   * @throws IllegalArgumentException as {@link #forward}
   */
  public PendingRoute route(
      INDArray context, INDArray inputs, Modality modality, List<Synapse> synapses) {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(modality, "modality");
    Objects.requireNonNull(synapses, "synapses");
    if (inputs.rank() < 2) {
      throw new IllegalArgumentException(
          "inputs must be [batch, seq, …]; got " + Arrays.toString(inputs.shape()));
    }
    long[] shape = inputs.shape();
    List<Synapse> peers = new ArrayList<>(synapses.size());
    for (Synapse s : synapses) {
      if (ServedInputs.accepts(s, modality, shape)) {
        peers.add(s);
      }
    }
    peers = Collections.unmodifiableList(peers);
    Gating gating = gate.forward(context, keys.keysOf(peers)); // checks the context
    if (context.size(0) != inputs.size(0)) {
      throw new IllegalArgumentException(
          "context batch " + context.size(0) + " != inputs batch " + inputs.size(0));
    }
    Dispatch dispatch = dispatcher.dispatch(inputs, gating.gates());

    // Only peers with rows are called.
    List<Integer> called = new ArrayList<>();
    for (int e = 0; e < peers.size(); e++) {
      if (dispatch.routed(e)) {
        called.add(e);
      }
    }
    CompletableFuture<DendriteCall> answers = null;
    if (!called.isEmpty()) {
      List<Synapse> targets = new ArrayList<>(called.size());
      List<INDArray> rows = new ArrayList<>(called.size());
      for (int e : called) {
        targets.add(peers.get(e));
        rows.add(dispatch.inputs().get(e));
      }
      answers = dendrite.forwardAsync(targets, rows, modality);
    }
    return new PendingRoute(this, peers, modality, shape, gating, dispatch, called, answers);
  }

  Dendrite dendrite() {
    return dendrite;
  }

  /**
   * One updater step on the gate with the gradients of a {@link RouterCall#backward}; skipped
   * (and counted by the gate) when they hold NaN or infinity.
   *
   * @return whether the step was taken
   */
  public boolean apply(RouterGradients gradients) {
    return gate.apply(gradients.gate());
  }

  Dispatcher dispatcher() {
    return dispatcher;
  }

  /** Settings of a {@link Router}; the gate's settings are those of {@link SparseGate.Builder}. */
  public static final class Builder {
    private final Dendrite dendrite;
    private final SparseGate.Builder gate;
    private int keyCapacity = SynapseKeys.DEFAULT_CAPACITY;
    private RandomGenerator random = RandomGeneratorFactory.of("L64X128MixRandom").create();

    private Builder(int xDim, Dendrite dendrite) {
      this.dendrite = Objects.requireNonNull(dendrite, "dendrite");
      this.gate = SparseGate.builder(xDim);
    }

    /** Length of the query and the keys. Default {@value SparseGate#DEFAULT_KEY_DIM}. */
    public Builder keyDim(int keyDim) {
      gate.keyDim(keyDim);
      return this;
    }

    /** Peers per example. Default {@value SparseGate#DEFAULT_TOP_K}. */
    public Builder topK(int topK) {
      gate.topK(topK);
      return this;
    }

    /** The gate's optimiser. Default Adam, learning rate 1e-3. */
    public Builder updater(IUpdater updater) {
      gate.updater(updater);
      return this;
    }

    /** How many synapse keys are remembered at most. Default {@value SynapseKeys#DEFAULT_CAPACITY}. */
    public Builder keyCapacity(int keyCapacity) {
      if (keyCapacity < 1) {
        throw new IllegalArgumentException("keyCapacity must be >= 1, got " + keyCapacity);
      }
      this.keyCapacity = keyCapacity;
      return this;
    }

    /** Source of the keys and the gate's initial projection; seed it for reproducible routing. */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      gate.random(random);
      return this;
    }

    public Router build() {
      gate.random(random);
      return new Router(this);
    }
  }
}
