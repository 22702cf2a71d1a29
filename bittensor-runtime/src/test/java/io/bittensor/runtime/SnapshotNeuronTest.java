package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.neuron.InvalidInputException;
import io.bittensor.neuron.UnsupportedModalityException;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SnapshotNeuronTest {
    @Test
    void servesTheSnapshotAndHandsPeersGradientsToTheTrainingThreadAveraged() {
        LinearModel training = new LinearModel(3, 2, 0.5, 1);
        SnapshotNeuron neuron = new SnapshotNeuron(training.copy(), 4);
        INDArray x = Nd4j.create(new double[][][] {{{1, 2, 3}}, {{4, 5, 6}}}); // float64 on the wire: accepted
        INDArray out = neuron.forward(Modality.TENSOR, x);
        assertArrayEquals(new long[] {2, 1, 512}, out.shape());
        assertEquals(6f, out.getFloat(1, 0, 2));
        assertEquals(0f, out.getFloat(1, 0, 3));

        INDArray g = Nd4j.ones(DataType.FLOAT, 2, 1, 512);
        assertArrayEquals(x.shape(), neuron.backward(Modality.TENSOR, x, g).shape());
        neuron.backward(Modality.TENSOR, x, g);
        assertEquals(2, neuron.queue().size());
        assertEquals(1, neuron.forwardCalls());
        assertEquals(2, neuron.backwardCalls());

        INDArray before = training.parameters().get("c");
        int steps = training.iteration();
        assertEquals(2, neuron.applyQueuedTo(training));
        assertEquals(steps + 1, training.iteration(), "two queued gradients, one optimizer step");
        // Each gradient is ones on c; their average is ones, times the rate 0.5.
        assertEquals(before.sub(0.5), training.parameters().get("c"));
        assertEquals(0, neuron.applyQueuedTo(training));
    }

    @Test
    void anAverageWithNaNIsDroppedAndCounted() {
        LinearModel training = new LinearModel(3, 2, 0.5, 1);
        SnapshotNeuron neuron = new SnapshotNeuron(training.copy(), 4);
        INDArray poisoned = Nd4j.ones(DataType.FLOAT, 1, 2);
        poisoned.putScalar(1, Float.NaN);
        neuron.queue().offer(java.util.Map.of("c", Nd4j.ones(DataType.FLOAT, 1, 2)));
        neuron.queue().offer(java.util.Map.of("c", poisoned));
        INDArray before = training.parameters().get("c");
        int steps = training.iteration();
        assertEquals(0, neuron.applyQueuedTo(training));
        assertEquals(1, neuron.nonFiniteDropped());
        assertEquals(steps, training.iteration(), "no optimizer step");
        assertEquals(before, training.parameters().get("c"));
        // The next, finite gradient is applied as usual.
        neuron.queue().offer(java.util.Map.of("c", Nd4j.ones(DataType.FLOAT, 1, 2)));
        assertEquals(1, neuron.applyQueuedTo(training));
        assertEquals(before.sub(0.5), training.parameters().get("c"));
    }

    @Test
    void otherModalitiesAreRefused() {
        SnapshotNeuron neuron = new SnapshotNeuron(new LinearModel(3, 2, 0.5, 1), 4);
        assertThrows(UnsupportedModalityException.class, () -> neuron.forwardImage(Nd4j.zeros(DataType.FLOAT, 1, 1, 1, 2, 2)));
        assertThrows(UnsupportedModalityException.class, () -> neuron.forwardText(Nd4j.zeros(DataType.LONG, 1, 3)));
        assertThrows(UnsupportedModalityException.class,
                () -> neuron.backward(Modality.IMAGE, Nd4j.zeros(1, 1, 3), Nd4j.zeros(1, 1, 512)));
        InvalidInputException wrong = assertThrows(InvalidInputException.class,
                () -> neuron.forwardTensor(Nd4j.zeros(1, 1, 5)), "wrong width");
        assertEquals(ReturnCode.BAD_SHAPE, wrong.code(), "a refusal the Axon answers, not a model error");
        assertTrue(wrong.getMessage().contains("TENSOR [batch, seq, 3]"), wrong.getMessage());
        assertThrows(InvalidInputException.class,
                () -> neuron.backward(Modality.TENSOR, Nd4j.zeros(1, 1, 5), Nd4j.zeros(1, 1, 512)));
    }

    @Test
    void aNewSnapshotIsServedFromThenOn() {
        LinearModel training = new LinearModel(3, 2, 0.5, 1);
        SnapshotNeuron neuron = new SnapshotNeuron(training.copy(), 1);
        INDArray x = Nd4j.ones(DataType.FLOAT, 1, 1, 3);
        neuron.backward(Modality.TENSOR, x, Nd4j.ones(DataType.FLOAT, 1, 1, 512));
        neuron.backward(Modality.TENSOR, x, Nd4j.ones(DataType.FLOAT, 1, 1, 512));
        assertEquals(1, neuron.queue().size(), "bounded: the oldest is dropped");
        neuron.serve(training.copy());
        assertEquals(x, neuron.forwardTensor(x).get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 3)));
    }
}
