package io.bittensor.router;

import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link Router#route} whose peers have been called and may still be computing. {@link #await}
 * waits for them (each call is bounded by the Dendrite's deadline) and combines their answers
 * into a {@link RouterCall}, once; later calls return the same result.
 *
 * <p>Dropping a pending route without awaiting it is safe: its calls end at their deadline at the
 * latest, and nothing is sent back to the peers.
 */
public final class PendingRoute {
  private final Router router;
  private final List<Synapse> peers;
  private final Modality modality;
  private final long[] inputShape;
  private final Gating gating;
  private final Dispatch dispatch;
  private final List<Integer> called;
  private final CompletableFuture<DendriteCall> answers; // null when no peer got rows
  private RouterCall result;

  PendingRoute(
      Router router,
      List<Synapse> peers,
      Modality modality,
      long[] inputShape,
      Gating gating,
      Dispatch dispatch,
      List<Integer> called,
      CompletableFuture<DendriteCall> answers) {
    this.router = router;
    this.peers = peers;
    this.modality = modality;
    this.inputShape = inputShape;
    this.gating = gating;
    this.dispatch = dispatch;
    this.called = List.copyOf(called);
    this.answers = answers;
  }

  /** Whether every called peer has answered (or failed) already: {@link #await} would not block. */
  public boolean isDone() {
    return answers == null || answers.isDone();
  }

  /**
   * Waits for the peers and combines their answers.
   *
   * @throws IllegalStateException if the Dendrite was closed meanwhile or the wait was interrupted
   */
  public synchronized RouterCall await() {
    if (result == null) {
      result = combine(answers == null ? null : router.dendrite().await(answers));
    }
    return result;
  }

  /** Step 4 of {@link Router#forward}: which peers answered usefully, and their weighted sum. */
  private RouterCall combine(DendriteCall call) {
    long[] rowShape = {inputShape[1], Neuron.NETWORK_DIM};
    int n = peers.size();
    List<INDArray> outputs = new ArrayList<>(Collections.nCopies(n, (INDArray) null));
    boolean[] answered = new boolean[n];
    if (call != null) {
      for (int i = 0; i < called.size(); i++) {
        int e = called.get(i);
        INDArray out = call.outputs().get(i);
        long[] expected = {dispatch.rows().get(e).length, rowShape[0], rowShape[1]};
        // The Dendrite checks reply shapes; a mismatch here would still only cost that peer.
        answered[e] = call.results().get(i).ok() && Arrays.equals(out.shape(), expected);
        outputs.set(e, out);
      }
    }
    INDArray output = router.dispatcher().combine(outputs, gating.gates(), answered, rowShape);
    return new RouterCall(router, peers, modality, inputShape, gating, dispatch, called, call, outputs,
        answered, output.castTo(DataType.FLOAT));
  }
}
