package io.bittensor.router;

import io.bittensor.dendrite.DendriteCall;
import io.bittensor.dendrite.PeerResult;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One {@link Router#forward}: the combined output and everything needed to train through it.
 * Peer index e is the position in the synapse list given to forward (the gate's column e).
 */
public final class RouterCall {
  private final Router router;
  private final List<Synapse> synapses;
  private final Modality modality;
  private final long[] inputShape;
  private final Gating gating;
  private final Dispatch dispatch;
  private final List<Integer> called;
  private final DendriteCall call;
  private final List<INDArray> outputs;
  private final boolean[] answered;
  private final INDArray output;

  RouterCall(
      Router router,
      List<Synapse> synapses,
      Modality modality,
      long[] inputShape,
      Gating gating,
      Dispatch dispatch,
      List<Integer> called,
      DendriteCall call,
      List<INDArray> outputs,
      boolean[] answered,
      INDArray output) {
    this.router = router;
    this.synapses = synapses;
    this.modality = modality;
    this.inputShape = inputShape;
    this.gating = gating;
    this.dispatch = dispatch;
    this.called = List.copyOf(called);
    this.call = call;
    this.outputs = Collections.unmodifiableList(outputs);
    this.answered = answered;
    this.output = output;
  }

  /** The combined network output [batch, seq, 512], float32. */
  public INDArray output() {
    return output;
  }

  /** The candidate peers, in gate-column order. */
  public List<Synapse> synapses() {
    return synapses;
  }

  public Modality modality() {
    return modality;
  }

  /** The gate's forward pass (scores, top-k mask, gates). */
  public Gating gating() {
    return gating;
  }

  /** The gates [batch, n]: softmax over each row's top k, 0 elsewhere. */
  public INDArray gates() {
    return gating.gates();
  }

  /** Which rows went to which peer. */
  public Dispatch dispatch() {
    return dispatch;
  }

  /** Indices of the peers that were called (those that got rows), ascending. */
  public List<Integer> called() {
    return called;
  }

  /** Per peer, whether it was called and answered usefully. */
  public boolean answered(int peer) {
    return answered[peer];
  }

  /** How many peers were called and answered. */
  public int answeredCount() {
    int c = 0;
    for (boolean a : answered) {
      c += a ? 1 : 0;
    }
    return c;
  }

  /** Per called peer (in {@link #called()} order), the Forward result; empty if nobody was called. */
  public List<PeerResult> results() {
    return call == null ? List.of() : call.results();
  }

  /** The underlying Dendrite call, or {@code null} if no peer was called. */
  public DendriteCall dendriteCall() {
    return call;
  }

  /**
   * {@link #backward(INDArray, boolean) backward(gradOutput, true)}: also sends each peer that
   * answered the gradient for its rows (Dendrite Backward).
   */
  public RouterGradients backward(INDArray gradOutput) {
    return backward(gradOutput, true);
  }

  /**
   * Gradients of the caller's loss through the combine weights into the gate, given d loss / d
   * {@link #output()}.
   *
   * @param gradOutput d loss / d output [batch, seq, 512]
   * @param sendToPeers whether to send the peers that answered d loss / d their outputs (Dendrite
   *     Backward, blocking until they reply or time out); their answers, d loss / d inputs, are
   *     summed back into batch order in {@link RouterGradients#inputs()}
   */
  public RouterGradients backward(INDArray gradOutput, boolean sendToPeers) {
    return backward(gradOutput, sendToPeers ? s -> true : null);
  }

  /**
   * As {@link #backward(INDArray, boolean)}, sending Backward only to the called peers that
   * {@code sendTo} accepts (e.g. not the caller's own synapse): the others get no call, count as
   * zero in {@link RouterGradients#inputs()}, and have no entry in {@link
   * RouterGradients#peerResults()}. A null {@code sendTo} sends nothing.
   */
  public RouterGradients backward(INDArray gradOutput, Predicate<Synapse> sendTo) {
    Objects.requireNonNull(gradOutput, "gradOutput");
    if (!Arrays.equals(gradOutput.shape(), output.shape())) {
      throw new IllegalArgumentException(
          "gradOutput must have the output's shape "
              + Arrays.toString(output.shape())
              + "; got "
              + Arrays.toString(gradOutput.shape()));
    }
    Dispatcher dispatcher = router.dispatcher();
    CombineGradients cg =
        dispatcher.combineBackward(outputs, gating.gates(), answered, gradOutput);
    GateGradients gate = router.gate().backward(gating, cg.gates());
    INDArray inputs = null;
    List<PeerResult> peerResults = List.of();
    if (sendTo != null && call != null) {
      List<INDArray> grads = new ArrayList<>(called.size());
      List<Integer> sent = new ArrayList<>();
      for (int e : called) {
        if (!sendTo.test(synapses.get(e))) {
          grads.add(null); // left out: no call
          continue;
        }
        sent.add(e);
        INDArray g = cg.peerOutputs().get(e);
        // A peer that failed is not sent anything by the Dendrite; it still wants a shaped slot.
        grads.add(
            g != null
                ? g.castTo(DataType.FLOAT)
                : Nd4j.zeros(
                    DataType.FLOAT, dispatch.rows().get(e).length, inputShape[1], Neuron.NETWORK_DIM));
      }
      List<INDArray> inputGrads = call.backward(grads);
      peerResults = call.backwardResults(); // one per peer in `sent`
      List<INDArray> perPeer = new ArrayList<>(Collections.nCopies(synapses.size(), (INDArray) null));
      for (int i = 0; i < sent.size(); i++) {
        int e = sent.get(i);
        perPeer.set(e, answered[e] && peerResults.get(i).ok() ? inputGrads.get(called.indexOf(e)) : null);
      }
      inputs = dispatcher.dispatchBackward(perPeer, dispatch.rows(), inputShape, DataType.FLOAT);
    }
    return new RouterGradients(gate, cg, inputs, peerResults);
  }
}
