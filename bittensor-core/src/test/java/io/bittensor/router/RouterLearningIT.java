package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.axon.Axon;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.slf4j.LoggerFactory;

/**
 * Four real peers behind loopback Axons; only one answers features that solve the caller's task.
 * Training the gate on the caller's loss must move most of the routing weight to that peer.
 */
class RouterLearningIT {
  private static final int X_DIM = 8;
  private static final int TASK_DIM = 8;
  private static final int BATCH = 16;
  private static final int STEPS = 100;

  private final List<Axon> axons = new ArrayList<>();
  private Dendrite dendrite;

  @AfterEach
  void stop() {
    if (dendrite != null) {
      dendrite.close();
    }
    axons.forEach(Axon::close);
  }

  /** y = tanh(x · A) in the first TASK_DIM features, 0 in the rest: [m, seq, 512]. */
  private static INDArray task(INDArray x, INDArray a) {
    INDArray flat = x.reshape(x.size(0) * x.size(1), X_DIM);
    INDArray out = Nd4j.zeros(DataType.FLOAT, flat.size(0), Neuron.NETWORK_DIM);
    out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, TASK_DIM)).assign(Transforms.tanh(flat.mmul(a)));
    return out.reshape(x.size(0), x.size(1), Neuron.NETWORK_DIM);
  }

  /** Features of the task's shape and scale, unrelated to it: N(0, 0.5²) in the task features. */
  private static INDArray noise(INDArray x) {
    INDArray out = Nd4j.zeros(DataType.FLOAT, x.size(0), x.size(1), Neuron.NETWORK_DIM);
    out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, TASK_DIM))
        .assign(Nd4j.randn(DataType.FLOAT, x.size(0), x.size(1), TASK_DIM).muli(0.5));
    return out;
  }

  @Test
  void gateLearnsToRouteToTheUsefulPeer() {
    Nd4j.getRandom().setSeed(42);
    INDArray a = Nd4j.randn(DataType.FLOAT, X_DIM, TASK_DIM);
    INDArray wrong = Nd4j.randn(DataType.FLOAT, X_DIM, TASK_DIM);
    List<FnNeuron> neurons =
        List.of(
            new FnNeuron(RouterLearningIT::noise),
            FnNeuron.constant(0), // nothing
            new FnNeuron(x -> task(x, a)), // useful
            new FnNeuron(x -> task(x, wrong))); // a confident wrong answer
    int useful = 2;
    List<Synapse> synapses = new ArrayList<>();
    for (int e = 0; e < neurons.size(); e++) {
      String key = "0x" + Integer.toString(e).repeat(64);
      Axon axon = Axon.builder().port(0).serve(key, neurons.get(e)).build().start();
      axons.add(axon);
      synapses.add(RouterIT.synapse(key, axon.port(), X_DIM));
    }
    dendrite = Dendrite.builder().timeout(Duration.ofSeconds(10)).build();
    Router router =
        Router.builder(X_DIM, dendrite)
            .keyDim(8)
            .topK(2)
            .updater(new Adam(0.1))
            .random(GateGradientTest.seeded(7))
            .build();

    double first = 0;
    double last = 0;
    for (int step = 0; step < STEPS; step++) {
      INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, X_DIM);
      INDArray inputs = x.reshape(BATCH, 1, X_DIM); // TENSOR [batch, seq = 1, features]
      RouterCall call = router.forward(x, inputs, Modality.TENSOR, synapses);
      INDArray target = task(inputs, a);
      // Mean squared error on the combined output; its gradient trains the gate.
      INDArray grad = call.output().sub(target).muli(2.0 / call.output().length());
      router.apply(call.backward(grad, step % 10 == 0)); // Backward to the peers now and then
      double share = call.gates().getColumn(useful).meanNumber().doubleValue();
      if (step == 0) {
        first = share;
      }
      last = share;
    }
    LoggerFactory.getLogger(RouterLearningIT.class)
        .info("useful peer's mean gate {} -> {} in {} steps", first, last, STEPS);
    assertTrue(last > 0.8, "useful peer's mean gate " + first + " -> " + last);
    assertTrue(last > first + 0.2, "useful peer's mean gate " + first + " -> " + last);
    assertTrue(neurons.get(useful).backwards.get() > 0, "the useful peer got Backward calls");
  }
}
