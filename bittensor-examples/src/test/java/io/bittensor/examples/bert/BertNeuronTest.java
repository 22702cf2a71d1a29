package io.bittensor.examples.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.neuron.InvalidInputException;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.runtime.SnapshotNeuron;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/** The text model served through the runtime's {@link SnapshotNeuron}: shapes, refusal codes. */
class BertNeuronTest {
    private static final BertConfig SMALL = new BertConfig(WordPiece.VOCAB_SIZE, 16, 1, 2, 32, 32, 16);
    private static BertModel model;
    private static SnapshotNeuron neuron;

    @BeforeAll
    static void build() {
        model = new BertModel(SMALL, 1, new Adam(1e-3));
        neuron = new SnapshotNeuron(model.copy(), model.gradientQueueCapacity());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void forwardAndBackwardHaveTheNetworkShapes() {
        INDArray ids = Nd4j.createFromArray(new long[][] {{101, 1996, 2110, 102}, {101, 2003, 102, 0}});
        assertArrayEquals(new long[] {2, 4, 512}, neuron.forwardText(ids).shape());
        INDArray d = neuron.backward(Modality.TEXT, ids, Nd4j.ones(DataType.FLOAT, 2, 4, 512));
        assertArrayEquals(ids.shape(), d.shape());
        assertEquals(1, neuron.queue().drain().size());
    }

    @Test
    void refusesIdsOutsideTheVocabularyAndOverlongSequences() {
        InvalidInputException tooBig = assertThrows(InvalidInputException.class,
                () -> neuron.forwardText(Nd4j.createFromArray(new long[][] {{101, 30_522}})));
        assertEquals(ReturnCode.MALFORMED_TENSOR, tooBig.code());
        InvalidInputException negative = assertThrows(InvalidInputException.class,
                () -> neuron.backward(Modality.TEXT, Nd4j.createFromArray(new long[][] {{-5, 101}}),
                        Nd4j.ones(DataType.FLOAT, 1, 2, 512)));
        assertEquals(ReturnCode.MALFORMED_TENSOR, negative.code());
        InvalidInputException tooLong = assertThrows(InvalidInputException.class,
                () -> neuron.forwardText(Nd4j.zeros(DataType.LONG, 1, 33)));
        assertEquals(ReturnCode.BAD_SHAPE, tooLong.code());
        assertEquals(0, neuron.queue().drain().size());
    }
}
