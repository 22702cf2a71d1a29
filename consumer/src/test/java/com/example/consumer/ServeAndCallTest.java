package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.proto.ReturnCode;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ServeAndCallTest {
    @Test
    void theServedNeuronAnswersThroughTheDendrite() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 2, 512);
        ServeAndCall.Outcome o = ServeAndCall.run(x);
        assertEquals(ReturnCode.OK, o.code());
        assertArrayEquals(x.mul(2).data().asFloat(), o.output().data().asFloat(), 1e-6f);
    }
}
