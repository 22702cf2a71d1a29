package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.proto.Modality;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

class SameDiffNeuronTest {
    static final int F = 6;

    /** y = x·W + b for x [batch, seq, F]; and a TEXT path y = embed[tokens]. */
    static SameDiff linearGraph(long seed) {
        Nd4j.getRandom().setSeed(seed);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, -1, F);
        SDVariable w = sd.var("W", Nd4j.rand(DataType.FLOAT, F, Neuron.NETWORK_DIM).subi(0.5));
        SDVariable b = sd.var("b", Nd4j.rand(DataType.FLOAT, Neuron.NETWORK_DIM).subi(0.5));
        // (tensormmul_bp is broken in M2.1 for rank 3: the helper flattens to [batch*seq, F] and back.)
        TestNeurons.linear(sd, "yNoBias", x, w, F).add("y", b);
        SDVariable tokens = sd.placeHolder("tokens", DataType.INT64, -1, -1);
        SDVariable embed = sd.var("E", Nd4j.rand(DataType.FLOAT, 10, Neuron.NETWORK_DIM));
        // Embedding as one-hot x E: M2.1's gather gradient is wrong for repeated indices and
        // fails for some index sets (docs/neuron.md).
        TestNeurons.linear(sd, "yText", sd.oneHot(tokens, 10), embed, 10);
        return sd;
    }

    @Test
    void backwardIsTheAnalyticGradientAndOneSgdStepMovesParams() {
        SameDiff sd = linearGraph(1);
        double lr = 0.1;
        SameDiffNeuron n = SameDiffNeuron.builder(sd)
                .modality(Modality.TENSOR, "x", "y")
                .modality(Modality.TEXT, "tokens", "yText")
                .updater(new Sgd(lr)).build();
        INDArray w0 = sd.getArrForVarName("W").dup();
        INDArray b0 = sd.getArrForVarName("b").dup();
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 2, F);
        INDArray g = Nd4j.rand(DataType.FLOAT, 3, 2, Neuron.NETWORK_DIM).subi(0.5);

        INDArray y = n.forwardTensor(x);
        INDArray x2 = x.reshape(6, F);
        assertTrue(y.reshape(6, 512).equalsWithEps(x2.mmul(w0).addRowVector(b0), 1e-4));

        INDArray dx = n.backward(Modality.TENSOR, x, g);
        INDArray g2 = g.reshape(6, 512);
        assertArrayEquals(x.shape(), dx.shape());
        assertTrue(dx.reshape(6, F).equalsWithEps(g2.mmul(w0.transpose()), 1e-4));
        assertEquals(1, n.gradientQueue().size());
        // Params do not move until the neuron drains its queue.
        assertEquals(w0, sd.getArrForVarName("W"));

        assertEquals(1, n.drainAndApply());
        INDArray dW = x2.transpose().mmul(g2);
        INDArray db = g2.sum(0);
        assertTrue(sd.getArrForVarName("W").equalsWithEps(w0.sub(dW.mul(lr)), 1e-4));
        assertTrue(sd.getArrForVarName("b").equalsWithEps(b0.sub(db.mul(lr)), 1e-4));
        assertEquals(0, n.drainAndApply());
        assertEquals(1, n.steps());
    }

    @Test
    void textBackwardGivesZeroInputGradientAndSwitchesLoss() {
        SameDiff sd = linearGraph(2);
        SameDiffNeuron n = SameDiffNeuron.builder(sd)
                .modality(Modality.TENSOR, "x", "y")
                .modality(Modality.TEXT, "tokens", "yText")
                .updater(new Sgd(1.0)).build();
        INDArray tokens = Nd4j.createFromArray(new long[][] {{1, 2, 3}, {4, 5, 1}});
        INDArray g = Nd4j.ones(DataType.FLOAT, 2, 3, Neuron.NETWORK_DIM);
        assertArrayEquals(new long[] {2, 3, 512}, n.forwardText(tokens).shape());
        INDArray dTokens = n.backward(Modality.TEXT, tokens, g);
        assertArrayEquals(tokens.shape(), dTokens.shape());
        assertEquals(0.0, dTokens.sumNumber().doubleValue());
        // and back to TENSOR: the gradient function is rebuilt for the other loss
        INDArray x = Nd4j.rand(DataType.FLOAT, 1, 1, F);
        INDArray dx = n.backward(Modality.TENSOR, x, Nd4j.ones(DataType.FLOAT, 1, 1, 512));
        INDArray expect = sd.getArrForVarName("W").sum(1);
        assertTrue(dx.reshape(F).equalsWithEps(expect, 1e-3));
        INDArray e0 = sd.getArrForVarName("E").dup();
        assertEquals(2, n.drainAndApply());
        // E took part in one of the two drained calls, where token 1 appeared twice: the step
        // uses the mean over the drained calls, (2 * ones) / 2.
        INDArray row1 = sd.getArrForVarName("E").getRow(1);
        assertTrue(row1.equalsWithEps(e0.getRow(1).sub(1.0), 1e-4));
        assertTrue(sd.getArrForVarName("E").getRow(2).equalsWithEps(e0.getRow(2).sub(0.5), 1e-4));
        assertTrue(sd.getArrForVarName("E").getRow(0).equalsWithEps(e0.getRow(0), 1e-6));
    }

    @Test
    void unboundModalityIsUnsupported() {
        SameDiffNeuron n = SameDiffNeuron.builder(linearGraph(3))
                .modality(Modality.TENSOR, "x", "y").build();
        var e = assertThrows(UnsupportedModalityException.class,
                () -> n.forwardImage(Nd4j.zeros(1, 1, 1, 2, 2)));
        assertEquals(Modality.IMAGE, e.modality());
        assertThrows(IllegalArgumentException.class,
                () -> SameDiffNeuron.builder(linearGraph(3)).modality(Modality.TENSOR, "nope", "y").build());
    }

    @Test
    void queueDropsOldestWhenFull() {
        GradientQueue<Integer> q = new GradientQueue<>(2);
        q.offer(1);
        q.offer(2);
        assertEquals(1, q.offer(3));
        assertEquals(java.util.List.of(2, 3), q.drain());
        assertEquals(1, q.dropped());
        assertEquals(3, q.offered());
        assertEquals(0, q.size());
    }
}
