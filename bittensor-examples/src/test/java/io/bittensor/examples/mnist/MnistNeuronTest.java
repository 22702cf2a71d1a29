package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.UnsupportedModalityException;
import io.bittensor.proto.Modality;
import io.bittensor.runtime.SnapshotNeuron;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/** The MNIST model served through the runtime's {@link SnapshotNeuron}. */
class MnistNeuronTest {
    @Test
    void servesASnapshotAndQueuesBackwardForTheTrainingModel() {
        INDArray images = Nd4j.arange(2 * 784).castTo(DataType.DOUBLE).divi(2 * 784).reshape(2, 1, 1, 28, 28); // doubles are accepted too
        INDArray grad = Nd4j.ones(DataType.FLOAT, 2, 1, 512);
        try (MnistModel training = new MnistModel(new MnistModel.Options(1, 0.0, new Sgd(0.1)))) {
            Neuron neuron = new SnapshotNeuron(training.copy(), 4);
            INDArray out = neuron.forward(Modality.IMAGE, images);
            assertArrayEquals(new long[] {2, 1, 512}, out.shape());
            assertEquals(training.forwardImage(images.castTo(DataType.FLOAT)), out);

            INDArray dImages = neuron.backward(Modality.IMAGE, images, grad);
            assertArrayEquals(images.shape(), dImages.shape());
            SnapshotNeuron mnist = (SnapshotNeuron) neuron;
            assertEquals(1, mnist.queue().size());

            INDArray before = training.parameters().get("conv1_w");
            assertEquals(1, mnist.applyQueuedTo(training));
            assertNotEquals(before, training.parameters().get("conv1_w"), "the peer's gradient reached the training model");
            assertEquals(out, neuron.forwardImage(images), "the served snapshot did not change");

            mnist.serve(training.copy());
            assertEquals(training.forwardImage(images.castTo(DataType.FLOAT)), neuron.forwardImage(images));

            assertThrows(UnsupportedModalityException.class, () -> neuron.forwardText(Nd4j.zeros(DataType.LONG, 1, 3)));
            assertThrows(UnsupportedModalityException.class, () -> neuron.backward(Modality.TENSOR, images, grad));
        }
    }
}
