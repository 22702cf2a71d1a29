package io.bittensor.router;

import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A TENSOR neuron given by a function, counting the calls and rows it serves. */
final class FnNeuron implements Neuron {
  final AtomicInteger forwards = new AtomicInteger();
  final AtomicInteger rows = new AtomicInteger();
  final AtomicInteger backwards = new AtomicInteger();
  private final UnaryOperator<INDArray> fn;

  /** @param fn [m, seq, features] to [m, seq, 512] */
  FnNeuron(UnaryOperator<INDArray> fn) {
    this.fn = fn;
  }

  /** Every output value is {@code value}. */
  static FnNeuron constant(double value) {
    return new FnNeuron(x -> Nd4j.valueArrayOf(new long[] {x.size(0), x.size(1), NETWORK_DIM}, value, DataType.FLOAT));
  }

  @Override
  public INDArray forwardTensor(INDArray x) {
    forwards.incrementAndGet();
    rows.addAndGet((int) x.size(0));
    return fn.apply(x);
  }

  @Override
  public INDArray backward(Modality modality, INDArray inputs, INDArray gradOutputs) {
    backwards.incrementAndGet();
    return Nd4j.zeros(DataType.FLOAT, inputs.shape());
  }
}
