package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.training.CheckpointException;
import io.bittensor.training.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.ops.transforms.Transforms;

class MnistModelTest {
    /** Synthetic digits: class c is a bright 6×6 square at a place of its own, plus noise. */
    private static MnistSplit.Batch squares(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] img = new float[n * 784];
        float[] oneHot = new float[n * 10];
        int[] classes = new int[n];
        for (int i = 0; i < n; i++) {
            int c = i % 10;
            classes[i] = c;
            oneHot[i * 10 + c] = 1;
            int r0 = 2 + (c / 5) * 12;
            int c0 = 1 + (c % 5) * 5;
            for (int p = 0; p < 784; p++) {
                int r = p / 28;
                int col = p % 28;
                boolean on = r >= r0 && r < r0 + 6 && col >= c0 && col < c0 + 6;
                img[i * 784 + p] = (float) (on ? 0.8 + 0.2 * rng.nextDouble() : 0.1 * rng.nextDouble());
            }
        }
        return new MnistSplit.Batch(Nd4j.create(img, new long[] {n, 1, 28, 28}, DataType.FLOAT),
                Nd4j.create(oneHot, new long[] {n, 10}, DataType.FLOAT), classes);
    }

    private static MnistModel model(long seed) {
        return new MnistModel(new MnistModel.Options(seed, 0.0, new Adam(3e-3)));
    }

    @Test
    void learnsAloneAndSwitchesToNetworkStepsAndBack() {
        MnistSplit.Batch b = squares(40, 1);
        try (MnistModel m = model(1)) {
            MnistModel.StepResult first = m.trainLocal(b.images(), b.labels());
            assertNull(first.networkGrad());
            MnistModel.StepResult last = first;
            for (int i = 0; i < 40; i++) {
                last = m.trainLocal(b.images(), b.labels());
            }
            assertTrue(last.loss() < first.loss() / 4, first.loss() + " -> " + last.loss());
            assertEquals(40, m.evaluate(b.images(), b.labels()).correct());

            INDArray network = Nd4j.rand(DataType.FLOAT, 40, 512);
            MnistModel.StepResult withNet = m.trainWithNetwork(b.images(), b.labels(), network);
            assertArrayEquals(new long[] {40, 512}, withNet.networkGrad().shape());
            assertTrue(withNet.distillLoss() > 0 && withNet.remoteLoss() > 0);
            assertEquals(withNet.localLoss() + withNet.remoteLoss() + withNet.distillLoss(), withNet.loss(), 1e-4);
            // A [b, 1, 512] network output (as the Dendrite returns it) is accepted too.
            m.trainWithNetwork(b.images(), b.labels(), network.reshape(40, 1, 512));
            assertTrue(m.trainLocal(b.images(), b.labels()).loss() < first.loss());
        }
    }

    @Test
    void networkGradientMatchesFiniteDifferences() {
        MnistSplit.Batch b = squares(10, 2);
        INDArray network = Nd4j.rand(DataType.FLOAT, 10, 512).muli(2);
        try (MnistModel m = model(2); MnistModel before = m.copy()) {
            INDArray grad = m.trainWithNetwork(b.images(), b.labels(), network).networkGrad();
            // Check the three largest components against the remote loss of the untouched copy.
            INDArray flat = Transforms.abs(grad.reshape(-1));
            for (int k = 0; k < 3; k++) {
                long idx = flat.argMax(0).getLong(0);
                flat.putScalar(idx, 0);
                double h = 1e-2;
                INDArray plus = network.dup();
                plus.reshape(-1).putScalar(idx, network.reshape(-1).getDouble(idx) + h);
                INDArray minus = network.dup();
                minus.reshape(-1).putScalar(idx, network.reshape(-1).getDouble(idx) - h);
                double numeric = (before.evaluateWithNetwork(b.images(), b.labels(), plus).loss()
                        - before.evaluateWithNetwork(b.images(), b.labels(), minus).loss()) / (2 * h);
                double analytic = grad.reshape(-1).getDouble(idx);
                assertEquals(analytic, numeric, 0.05 * Math.abs(analytic) + 1e-4, "component " + idx);
            }
        }
    }

    @Test
    void servesThePaddedTransformAndItsGradient() {
        MnistSplit.Batch b = squares(6, 3);
        try (MnistModel m = model(3)) {
            INDArray images5 = b.images().reshape(3, 2, 1, 28, 28);
            INDArray out = m.forwardImage(images5);
            assertArrayEquals(new long[] {3, 2, 512}, out.shape());
            INDArray flat = out.reshape(6, 512);
            assertEquals(m.transform(b.images()), flat.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 320)));
            assertEquals(0.0, flat.get(NDArrayIndex.all(), NDArrayIndex.interval(320, 512)).amaxNumber().doubleValue());

            INDArray g = Nd4j.rand(DataType.FLOAT, 3, 2, 512).subi(0.5);
            MnistModel.ImageBackward back = m.backwardImage(images5, g);
            assertArrayEquals(images5.shape(), back.imagesGrad().shape());
            assertEquals(Set.of("conv1_w", "conv1_b", "conv2_w", "conv2_b"), back.parameterGrads().keySet(),
                    "only the transform's parameters shape the served output");
            // d/d pixel of sum(g ⊙ forwardImage), at the pixel with the largest gradient.
            INDArray abs = Transforms.abs(back.imagesGrad().reshape(-1));
            long idx = abs.argMax(0).getLong(0);
            double h = 1e-3;
            INDArray plus = images5.dup();
            plus.reshape(-1).putScalar(idx, images5.reshape(-1).getDouble(idx) + h);
            INDArray minus = images5.dup();
            minus.reshape(-1).putScalar(idx, images5.reshape(-1).getDouble(idx) - h);
            double numeric = (m.forwardImage(plus).mul(g).sumNumber().doubleValue()
                    - m.forwardImage(minus).mul(g).sumNumber().doubleValue()) / (2 * h);
            double analytic = back.imagesGrad().reshape(-1).getDouble(idx);
            assertEquals(analytic, numeric, 0.05 * Math.abs(analytic) + 1e-3);

            assertThrows(IllegalArgumentException.class, () -> m.forwardImage(b.images()));
            assertThrows(IllegalArgumentException.class, () -> m.backwardImage(images5, g.reshape(6, 512)));
        }
    }

    @Test
    void aServedCopyAnswersForwardAndBackwardFromManyThreads() throws Exception {
        MnistSplit.Batch b = squares(8, 5);
        INDArray images = b.images().reshape(8, 1, 1, 28, 28);
        INDArray g = Nd4j.rand(DataType.FLOAT, 8, 1, 512);
        try (MnistModel trained = model(5); MnistModel served = trained.copy()) {
            INDArray expectedOut = served.forwardImage(images);
            INDArray expectedGrad = served.backwardImage(images, g).imagesGrad();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
            try {
                List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    boolean backward = i % 4 == 0;
                    results.add(pool.submit(() -> backward
                            ? served.backwardImage(images, g).imagesGrad().equalsWithEps(expectedGrad, 1e-5)
                            : served.forwardImage(images).equalsWithEps(expectedOut, 1e-5)));
                }
                for (java.util.concurrent.Future<Boolean> r : results) {
                    assertTrue(r.get(60, java.util.concurrent.TimeUnit.SECONDS));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void checkpointRestoresParametersAndOptimizer(@TempDir Path dir) throws Exception {
        MnistSplit.Batch b = squares(20, 4);
        Path file = dir.resolve("model.ckpt");
        try (MnistModel a = model(4); MnistModel other = model(5)) {
            for (int i = 0; i < 3; i++) {
                a.trainLocal(b.images(), b.labels());
            }
            a.saveCheckpoint(file, Map.of("epoch", "7"));
            Map<String, String> meta = other.restoreCheckpoint(file);
            assertEquals("7", meta.get("epoch"));
            assertEquals(a.predict(b.images()), other.predict(b.images()));
            assertEquals(a.iteration(), other.iteration());
            // Same parameters and Adam moments: the next step lands in the same place.
            a.trainLocal(b.images(), b.labels());
            other.trainLocal(b.images(), b.labels());
            assertTrue(a.predict(b.images()).equalsWithEps(other.predict(b.images()), 1e-5));
        }

        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 3] ^= 0x40;
        Files.write(file, bytes);
        try (MnistModel m = model(6)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> m.restoreCheckpoint(file));
            assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
            Path foreign = dir.resolve("other.ckpt");
            Checkpoints.save(foreign, Map.of("w", Nd4j.zeros(1)), Map.of("model", "cifar"));
            e = assertThrows(CheckpointException.class, () -> m.restoreCheckpoint(foreign));
            assertTrue(e.getMessage().contains("'cifar'"), e.getMessage());
        }
    }
}
