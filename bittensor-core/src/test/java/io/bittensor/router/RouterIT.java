package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.axon.Axon;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.neuron.TestNeurons;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Router against real loopback Axons: who is called, what comes back, failures, Backward. */
class RouterIT {
  private static final int X_DIM = 4;
  private static final int SEQ = 2;
  private static final int FEATURES = 5;
  private static final List<Axon> AXONS = new ArrayList<>();
  private static final List<FnNeuron> NEURONS = new ArrayList<>();
  private static final List<Synapse> SYNAPSES = new ArrayList<>();
  private static Dendrite dendrite;

  @BeforeAll
  static void start() {
    for (int e = 0; e < 3; e++) {
      FnNeuron neuron = FnNeuron.constant(e + 1);
      String key = "0x" + String.valueOf((char) ('a' + e)).repeat(64);
      Axon axon = Axon.builder().port(0).serve(key, neuron).build().start();
      AXONS.add(axon);
      NEURONS.add(neuron);
      SYNAPSES.add(synapse(key, axon.port()));
    }
    dendrite = Dendrite.builder().timeout(Duration.ofSeconds(5)).build();
  }

  @AfterAll
  static void stop() {
    if (dendrite != null) {
      dendrite.close();
    }
    AXONS.forEach(Axon::close);
  }

  /** A synapse on loopback that says it serves TENSOR inputs of {@code width} features. */
  static Synapse synapse(String key, int port, int width) {
    return TestNeurons.synapse(key, "127.0.0.1", port).toBuilder()
        .addServes(ServedInputs.tensor(width)).build();
  }

  static Synapse synapse(String key, int port) {
    return synapse(key, port, FEATURES);
  }

  private static Router router(int topK) {
    return Router.builder(X_DIM, dendrite).keyDim(3).topK(topK).random(GateGradientTest.seeded(4)).build();
  }

  private static INDArray inputs(int batch) {
    return Nd4j.rand(DataType.FLOAT, batch, SEQ, FEATURES);
  }

  private static int[] counts() {
    return NEURONS.stream().mapToInt(n -> n.forwards.get()).toArray();
  }

  @Test
  void callsOnlyThePeersWithRowsAndWeighsTheirAnswers() {
    Router router = router(2);
    INDArray context = Nd4j.randn(DataType.FLOAT, 5, X_DIM);
    int[] before = NEURONS.stream().mapToInt(n -> n.rows.get()).toArray();
    RouterCall call = router.forward(context, inputs(5), Modality.TENSOR, SYNAPSES);
    assertArrayEquals(new long[] {5, SEQ, 512}, call.output().shape());
    for (int e = 0; e < 3; e++) {
      assertEquals(
          call.dispatch().rows().get(e).length,
          NEURONS.get(e).rows.get() - before[e],
          "peer " + e + " gets exactly its rows");
    }
    // Peer e answers e + 1 everywhere: row b combines to sum_e gates[b, e] (e + 1).
    INDArray expected = call.gates().mmul(Nd4j.createFromArray(1f, 2f, 3f).reshape(3, 1));
    for (int b = 0; b < 5; b++) {
      INDArray row = call.output().get(NDArrayIndex.point(b));
      assertEquals(expected.getDouble(b, 0), row.minNumber().doubleValue(), 1e-5);
      assertEquals(expected.getDouble(b, 0), row.maxNumber().doubleValue(), 1e-5);
    }
  }

  @Test
  void aPeerWithNoRowsIsNotCalled() {
    Router router = router(1);
    int[] before = counts();
    RouterCall call = router.forward(Nd4j.randn(DataType.FLOAT, 1, X_DIM), inputs(1), Modality.TENSOR, SYNAPSES);
    assertEquals(1, call.called().size());
    int[] after = counts();
    int calledPeers = 0;
    for (int e = 0; e < 3; e++) {
      calledPeers += after[e] - before[e];
    }
    assertEquals(1, calledPeers);
  }

  @Test
  void noPeersGiveZerosAndNoCalls() {
    try (Dendrite fresh = Dendrite.builder().build()) {
      Router router = Router.builder(X_DIM, fresh).keyDim(3).topK(2).build();
      RouterCall call = router.forward(Nd4j.randn(DataType.FLOAT, 3, X_DIM), inputs(3), Modality.TENSOR, List.of());
      assertArrayEquals(new long[] {3, SEQ, 512}, call.output().shape());
      assertEquals(0.0, call.output().norm1Number().doubleValue());
      assertTrue(call.called().isEmpty());
      assertEquals(0, fresh.openChannels());
      RouterGradients g = call.backward(Nd4j.ones(DataType.FLOAT, 3, SEQ, 512));
      assertEquals(0.0, g.gate().weight().norm1Number().doubleValue());
    }
  }

  @Test
  void aFailedPeersWeightGoesToThePeersThatAnswered() throws IOException {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    List<Synapse> peers = new ArrayList<>(SYNAPSES);
    peers.add(synapse("0x" + "d".repeat(64), deadPort)); // peer 3: nobody listens
    Router router = router(4); // every peer gets every row
    RouterCall call = router.forward(Nd4j.randn(DataType.FLOAT, 4, X_DIM), inputs(4), Modality.TENSOR, peers);
    assertEquals(4, call.called().size());
    assertFalse(call.answered(3));
    assertEquals(ReturnCode.UNAVAILABLE, call.results().get(3).code());
    assertEquals(3, call.answeredCount());
    INDArray g = call.gates();
    INDArray live = g.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 3));
    INDArray expected =
        live.mmul(Nd4j.createFromArray(1f, 2f, 3f).reshape(3, 1)).div(live.sum(true, 1));
    for (int b = 0; b < 4; b++) {
      assertEquals(expected.getDouble(b, 0), call.output().get(NDArrayIndex.point(b)).meanNumber().doubleValue(), 1e-4);
    }
    // Backward goes to the three that answered, not to the dead one.
    int[] before = NEURONS.stream().mapToInt(n -> n.backwards.get()).toArray();
    RouterGradients grads = call.backward(Nd4j.ones(DataType.FLOAT, 4, SEQ, 512));
    for (int e = 0; e < 3; e++) {
      assertEquals(before[e] + 1, NEURONS.get(e).backwards.get(), "peer " + e);
    }
    assertNotNull(grads.inputs());
    assertArrayEquals(new long[] {4, SEQ, 5}, grads.inputs().shape());
    assertEquals(4, grads.peerResults().size());
  }

  @Test
  void onlySynapsesThatTakeTheBatchAreScoredAndCalled() {
    FnNeuron other = FnNeuron.constant(9);
    String imageKey = "0x" + "e".repeat(64);
    String pythonKey = "0x" + "f".repeat(64);
    String wideKey = "0x" + "9".repeat(64);
    try (Axon axon = Axon.builder().port(0).serve(imageKey, other).serve(pythonKey, other)
        .serve(wideKey, other).build().start()) {
      List<Synapse> mixed = new ArrayList<>(SYNAPSES);
      mixed.add(TestNeurons.synapse(imageKey, "127.0.0.1", axon.port()).toBuilder()
          .addServes(ServedInputs.image(3, 32, 32)).build());
      mixed.add(TestNeurons.synapse(pythonKey, "127.0.0.1", axon.port())); // says nothing
      mixed.add(synapse(wideKey, axon.port(), FEATURES + 1)); // TENSOR, another width
      Router router = router(6); // top-k over all: only compatibility limits the calls

      RouterCall tensors = router.forward(Nd4j.randn(DataType.FLOAT, 4, X_DIM), inputs(4),
          Modality.TENSOR, mixed);
      assertEquals(SYNAPSES, tensors.synapses());
      assertEquals(3, tensors.called().size());
      assertEquals(3, tensors.answeredCount());
      assertEquals(0, other.forwards.get(), "no incompatible synapse was called");

      // CIFAR-sized images: only the synapse that says IMAGE [3, 32, 32].
      RouterCall cifar = router.forward(Nd4j.randn(DataType.FLOAT, 2, X_DIM),
          Nd4j.rand(DataType.FLOAT, 2, 1, 3, 32, 32), Modality.IMAGE, mixed);
      assertEquals(List.of(imageKey),
          cifar.synapses().stream().map(Synapse::getSynapseKey).toList());
      // Its neuron does not run images after all: a refusal of the input, which never bans.
      assertEquals(ReturnCode.UNSUPPORTED_MODALITY, cifar.results().get(0).code());
      assertEquals(Duration.ZERO, dendrite.bannedFor(imageKey));
      // MNIST-sized images: only the entry without a declaration (the original MNIST neuron's).
      RouterCall mnist = router.forward(Nd4j.randn(DataType.FLOAT, 2, X_DIM),
          Nd4j.rand(DataType.FLOAT, 2, 1, 1, 28, 28), Modality.IMAGE, mixed);
      assertEquals(List.of(pythonKey),
          mnist.synapses().stream().map(Synapse::getSynapseKey).toList());
      // Nobody takes text: zeros, no call.
      RouterCall text = router.forward(Nd4j.randn(DataType.FLOAT, 2, X_DIM),
          Nd4j.zeros(DataType.LONG, 2, 3), Modality.TEXT, mixed);
      assertTrue(text.synapses().isEmpty());
      assertTrue(text.called().isEmpty());
      assertEquals(0.0, text.output().norm1Number().doubleValue());
    }
  }

  @Test
  void routeReturnsWhileThePeerComputesAndAwaitCombinesItsAnswer() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    FnNeuron slow = new FnNeuron(x -> {
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return Nd4j.valueArrayOf(new long[] {x.size(0), x.size(1), 512}, 7.0, DataType.FLOAT);
    });
    String key = "0x" + "7".repeat(64);
    try (Axon axon = Axon.builder().port(0).serve(key, slow).build().start()) {
      Router router = router(1);
      PendingRoute pending = router.route(Nd4j.randn(DataType.FLOAT, 3, X_DIM), inputs(3), Modality.TENSOR,
          List.of(synapse(key, axon.port())));
      // The call is out, and its answer cannot have come: the peer is held.
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (slow.forwards.get() == 0 && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      assertEquals(1, slow.forwards.get(), "the peer was called before await");
      assertFalse(pending.isDone());
      release.countDown();
      RouterCall call = pending.await();
      assertTrue(pending.isDone());
      assertEquals(1, call.answeredCount());
      assertEquals(7.0, call.output().minNumber().doubleValue(), 1e-6);
      assertEquals(7.0, call.output().maxNumber().doubleValue(), 1e-6);
      assertSame(call, pending.await(), "awaiting again gives the same call");
    } finally {
      release.countDown();
    }
  }

  @Test
  void backwardGoesOnlyToThePeersTheCallerChooses() {
    Router router = router(3); // every peer gets every row
    RouterCall call = router.forward(Nd4j.randn(DataType.FLOAT, 2, X_DIM), inputs(2), Modality.TENSOR, SYNAPSES);
    assertEquals(3, call.answeredCount());
    String left = SYNAPSES.get(0).getSynapseKey();
    int[] before = NEURONS.stream().mapToInt(n -> n.backwards.get()).toArray();
    RouterGradients g = call.backward(Nd4j.ones(DataType.FLOAT, 2, SEQ, 512), s -> !s.getSynapseKey().equals(left));
    assertEquals(before[0], NEURONS.get(0).backwards.get(), "the peer left out got no Backward");
    for (int e = 1; e < 3; e++) {
      assertEquals(before[e] + 1, NEURONS.get(e).backwards.get(), "peer " + e);
    }
    assertEquals(2, g.peerResults().size());
    assertTrue(g.peerResults().stream().noneMatch(r -> r.synapseKey().equals(left)));
    assertTrue(g.peerResults().stream().allMatch(r -> r.ok()));
  }

  @Test
  void wrongContextIsRejectedBeforeAnyCall() {
    Router router = router(2);
    int[] before = counts();
    assertThrows(IllegalArgumentException.class,
        () -> router.forward(Nd4j.randn(DataType.FLOAT, 3, X_DIM + 1), inputs(3), Modality.TENSOR, SYNAPSES));
    assertThrows(IllegalArgumentException.class,
        () -> router.forward(Nd4j.randn(DataType.FLOAT, 3, 1, X_DIM), inputs(3), Modality.TENSOR, SYNAPSES));
    assertThrows(IllegalArgumentException.class,
        () -> router.forward(Nd4j.randn(DataType.FLOAT, 2, X_DIM), inputs(3), Modality.TENSOR, SYNAPSES));
    assertArrayEquals(before, counts());
  }
}
