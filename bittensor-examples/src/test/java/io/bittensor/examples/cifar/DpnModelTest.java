package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.neuron.InvalidInputException;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.runtime.ModelCheckpoints;
import io.bittensor.runtime.ServedBackward;
import io.bittensor.runtime.SnapshotNeuron;
import io.bittensor.runtime.StepResult;
import io.bittensor.training.CheckpointException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

class DpnModelTest {
    /** A tiny DPN so the test runs in seconds: every piece of the real one, few channels. */
    static final DpnConfig TINY = new DpnConfig("tiny", 8, new int[] {8, 8}, new int[] {8, 16}, new int[] {2, 1},
            new int[] {4, 4}, 4, new int[] {2, 2});

    static DpnModel model;

    @BeforeAll
    static void build() {
        model = new DpnModel(new DpnModel.Options(TINY, 1, new Adam(3e-3)));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static CifarSplit.Batch batch(int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, 3, 32, 32);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 10);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, i % 3, 1);
            // make the class visible: brighten one channel
            x.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i), org.nd4j.linalg.indexing.NDArrayIndex.point(i % 3))
                    .addi(0.5);
        }
        return new CifarSplit.Batch(x, y);
    }

    @Test
    void presetsHaveTheOriginalsSizes() {
        assertEquals(4 * (2048 + 3 * 128), DpnConfig.DPN26.transformDim(), "as the original's transform_dim");
        assertEquals(256 + 2 * 16, DpnConfig.MINI.transformDim());
        assertEquals(DpnConfig.DPN26, DpnConfig.preset("DPN26"));
        assertThrows(IllegalArgumentException.class, () -> DpnConfig.preset("resnet"));
        assertThrows(IllegalArgumentException.class, () -> new DpnConfig("odd", 8, new int[] {6}, new int[] {8},
                new int[] {1}, new int[] {4}, 4, new int[] {1}));
    }

    @Test
    void servesForwardAndBackwardInTheOriginalsShapes() {
        INDArray images = Nd4j.rand(DataType.FLOAT, 2, 1, 3, 32, 32);
        INDArray out = model.forwardImage(images);
        assertArrayEquals(new long[] {2, 1, 512}, out.shape());
        ServedBackward b = model.backwardImage(images, Nd4j.ones(DataType.FLOAT, 2, 1, 512));
        assertArrayEquals(images.shape(), b.inputsGrad().shape());
        assertTrue(b.inputsGrad().norm2Number().doubleValue() > 0);
        assertFalse(b.parameterGrads().isEmpty());
        // Forward is deterministic (running statistics, no batch dependence): one image alone gives the same answer.
        INDArray single = model.forwardImage(images.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1)).dup());
        assertTrue(single.reshape(512).equalsWithEps(out.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0)).reshape(512), 1e-4));
    }

    @Test
    void refusesWrongImageShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.forwardImage(Nd4j.zeros(DataType.FLOAT, 2, 1, 1, 28, 28)));
        assertTrue(e.getMessage().contains("[batch, seq, 3, 32, 32]"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> model.backwardImage(Nd4j.zeros(DataType.FLOAT, 2, 1, 3, 32, 32), Nd4j.zeros(DataType.FLOAT, 2, 1, 10)));
        assertThrows(IllegalArgumentException.class,
                () -> model.trainLocal(Nd4j.zeros(DataType.FLOAT, 2, 3, 16, 16), Nd4j.zeros(DataType.FLOAT, 2, 10)));
    }

    @Test
    void aPeersWrongImageShapeIsARefusalCodeNotAModelError() {
        try (DpnModel served = model.copy()) {
            SnapshotNeuron neuron = new SnapshotNeuron(served, 4);
            INDArray mnist = Nd4j.zeros(DataType.FLOAT, 2, 1, 1, 28, 28);
            InvalidInputException f = assertThrows(InvalidInputException.class, () -> neuron.forwardImage(mnist));
            assertEquals(ReturnCode.BAD_SHAPE, f.code());
            assertTrue(f.getMessage().contains("IMAGE [batch, seq, 3, 32, 32]"), f.getMessage());
            InvalidInputException b = assertThrows(InvalidInputException.class,
                    () -> neuron.backward(Modality.IMAGE, mnist, Nd4j.zeros(DataType.FLOAT, 2, 1, 512)));
            assertEquals(ReturnCode.BAD_SHAPE, b.code());
            assertEquals(0, neuron.queue().size());
            // and a right one still works after the refusals
            assertArrayEquals(new long[] {1, 2, 512}, neuron.forwardImage(Nd4j.rand(DataType.FLOAT, 1, 2, 3, 32, 32)).shape());
        }
    }

    @Test
    void localTrainingLowersTheLossAndMovesRunningStatistics() {
        try (DpnModel m = new DpnModel(new DpnModel.Options(TINY, 2, new Adam(3e-3)))) {
            CifarSplit.Batch b = batch(12, 5);
            Map<String, INDArray> before = m.runningStatistics();
            double first = m.trainLocal(b.images(), b.labels()).loss();
            double last = first;
            for (int i = 0; i < 15; i++) {
                last = m.trainLocal(b.images(), b.labels()).loss();
            }
            assertTrue(last < first * 0.7, "loss " + first + " → " + last);
            Map<String, INDArray> after = m.runningStatistics();
            assertFalse(before.get("stem_bn_rmean").equalsWithEps(after.get("stem_bn_rmean"), 1e-6));
            assertEquals(16, m.iteration());
        }
    }

    @Test
    void networkStepReturnsTheGradientForThePeers() {
        try (DpnModel m = new DpnModel(new DpnModel.Options(TINY, 3, new Adam(1e-3)))) {
            CifarSplit.Batch b = batch(4, 6);
            StepResult r = m.trainWithNetwork(b.images(), b.labels(), Nd4j.rand(DataType.FLOAT, 4, 1, 512));
            assertNotNull(r.networkGrad());
            assertArrayEquals(new long[] {4, 512}, r.networkGrad().shape());
            assertTrue(Double.isFinite(r.distillLoss()) && Double.isFinite(r.remoteLoss()));
        }
    }

    @Test
    void checkpointRoundTripsParametersAndStatistics(@TempDir Path dir) throws Exception {
        try (DpnModel a = new DpnModel(new DpnModel.Options(TINY, 4, new Adam(1e-3)));
                DpnModel b = new DpnModel(new DpnModel.Options(TINY, 5, new Adam(1e-3)))) {
            CifarSplit.Batch batch = batch(4, 7);
            a.trainLocal(batch.images(), batch.labels());
            Path file = dir.resolve("cifar.ckpt");
            ModelCheckpoints.save(a, file, Map.of("epoch", "1"));
            assertEquals("1", ModelCheckpoints.restore(b, file).get("epoch"));
            INDArray images = Nd4j.rand(DataType.FLOAT, 2, 1, 3, 32, 32);
            assertTrue(a.forwardImage(images).equalsWithEps(b.forwardImage(images), 1e-6),
                    "parameters and running statistics restored");
            assertEquals(1, b.iteration());
            assertEquals(a.optimizerState().keySet(), b.optimizerState().keySet());
        }
    }

    @Test
    void aCheckpointOfAnotherPresetIsRefusedByName(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.ckpt");
        ModelCheckpoints.save(model, file, Map.of());
        try (DpnModel mini = new DpnModel(new DpnModel.Options(DpnConfig.MINI, 1, new Adam(1e-3)))) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> ModelCheckpoints.restore(mini, file));
            assertTrue(e.getMessage().contains("tiny") && e.getMessage().contains("mini"), e.getMessage());
        }
    }

    @Test
    void isAnImageNeuronModelServingCifarImages() {
        assertEquals(Modality.IMAGE, model.modality());
        assertEquals(List.of(ServedInputs.image(3, 32, 32)), model.serves());
        assertEquals(TINY.transformDim(), model.contextDim());
        CifarSplit.Batch b = batch(3, 8);
        assertArrayEquals(new long[] {3, TINY.transformDim()}, model.routerContext(b.inputs()).shape());
        assertArrayEquals(new long[] {3, 1, 3, 32, 32}, model.remoteInputs(b.inputs()).shape());
        try (DpnModel copy = model.copy()) {
            INDArray images = Nd4j.rand(DataType.FLOAT, 2, 1, 3, 32, 32);
            assertTrue(model.forward(images).equalsWithEps(copy.forward(images), 1e-6), "the copy serves the same");
            assertEquals(0, copy.iteration(), "with a fresh optimizer");
        }
    }
}
