package io.bittensor.runtime;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model's router context frozen at one moment of training ({@link NeuronModel#contextSnapshot}):
 * it owns copies of whatever {@link NeuronModel#routerContext} reads, so another thread may
 * compute with it while the training thread changes the model's parameters.
 *
 * <p>It exists so that an early route's context, a forward pass as costly as a fifth of a
 * training step for the MNIST neuron, runs on the routing thread instead of the training thread.
 */
public interface ContextSnapshot extends AutoCloseable {
    /** As {@link NeuronModel#routerContext} at the moment of the snapshot: {@code [b, contextDim]}. */
    INDArray compute(INDArray inputs);

    /** Frees the copies now rather than at GC. */
    @Override
    void close();
}
