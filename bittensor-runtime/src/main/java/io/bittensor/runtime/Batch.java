package io.bittensor.runtime;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Examples of one training or test step: the model's inputs (images, token ids, features: whatever
 * its {@link NeuronModel} takes, batch first) and their labels (for classification, one-hot).
 */
public interface Batch {
    INDArray inputs();

    INDArray labels();

    /** Examples in the batch. */
    default int size() {
        return (int) inputs().size(0);
    }
}
