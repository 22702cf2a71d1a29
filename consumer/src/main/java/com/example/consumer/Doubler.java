package com.example.consumer;

import io.bittensor.neuron.Neuron;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A user's own Neuron: answers TENSOR Forwards with 2x, and Backwards with 2 x the gradient. */
public final class Doubler implements Neuron {
    @Override
    public INDArray forwardTensor(INDArray x) {
        return x.mul(2);
    }

    @Override
    public INDArray backward(io.bittensor.proto.Modality modality, INDArray inputs, INDArray gradOutputs) {
        return gradOutputs.mul(2);
    }
}
