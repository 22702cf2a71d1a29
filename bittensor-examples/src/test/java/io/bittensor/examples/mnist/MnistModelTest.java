package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.runtime.ModelCheckpoints;
import io.bittensor.runtime.ServedBackward;
import io.bittensor.runtime.StepResult;
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
            StepResult first = m.trainLocal(b.images(), b.labels());
            assertNull(first.networkGrad());
            StepResult last = first;
            for (int i = 0; i < 40; i++) {
                last = m.trainLocal(b.images(), b.labels());
            }
            assertTrue(last.loss() < first.loss() / 4, first.loss() + " -> " + last.loss());
            assertEquals(40, m.evaluate(b.images(), b.labels()).correct());

            INDArray network = uniform(10, 0, 1, 40, 512);
            StepResult withNet = m.trainWithNetwork(b.images(), b.labels(), network);
            assertArrayEquals(new long[] {40, 512}, withNet.networkGrad().shape());
            assertTrue(withNet.distillLoss() > 0 && withNet.remoteLoss() > 0);
            assertEquals(withNet.localLoss() + withNet.remoteLoss() + withNet.distillLoss(), withNet.loss(), 1e-4);
            // A [b, 1, 512] network output (as the Dendrite returns it) is accepted too.
            m.trainWithNetwork(b.images(), b.labels(), network.reshape(40, 1, 512));
            assertTrue(m.trainLocal(b.images(), b.labels()).loss() < first.loss());
        }
    }

    /** Uniform values in [lo, hi) from a seed, so checks do not depend on ND4J's global generator. */
    static INDArray uniform(long seed, double lo, double hi, long... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        int n = (int) java.util.Arrays.stream(shape).reduce(1, (x, y) -> x * y);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        }
        return Nd4j.create(v, shape, DataType.FLOAT);
    }

    /** A random ±1 direction: finite differences along it average over many components, so a
     *  ReLU or max-pool kink at one component cannot dominate the comparison. */
    private static INDArray direction(long seed, long... shape) {
        return uniform(seed, -1, 1, shape).gt(0).castTo(DataType.FLOAT).muli(2).subi(1);
    }

    @Test
    void networkGradientMatchesFiniteDifferences() {
        MnistSplit.Batch b = squares(10, 2);
        INDArray network = uniform(20, 0, 2, 10, 512);
        try (MnistModel m = model(2); MnistModel before = m.copy()) {
            INDArray grad = m.trainWithNetwork(b.images(), b.labels(), network).networkGrad();
            INDArray d = direction(21, 10, 512);
            double h = 1e-3;
            double numeric = (before.evaluateWithNetwork(b.images(), b.labels(), network.add(d.mul(h))).loss()
                    - before.evaluateWithNetwork(b.images(), b.labels(), network.sub(d.mul(h))).loss()) / (2 * h);
            double analytic = grad.mul(d).sumNumber().doubleValue();
            assertEquals(analytic, numeric, 0.03 * Math.abs(analytic) + 1e-4);
        }
    }

    @Test
    void aContextSnapshotKeepsTheTransformOfItsMomentWhileTheModelTrainsOn() throws Exception {
        MnistSplit.Batch b = squares(20, 4);
        try (MnistModel m = model(4)) {
            INDArray before = m.transform(b.images());
            io.bittensor.runtime.ContextSnapshot snapshot = m.contextSnapshot();
            for (int i = 0; i < 3; i++) {
                m.trainLocal(b.images(), b.labels());
            }
            INDArray after = m.transform(b.images());
            assertTrue(after.sub(before).amaxNumber().doubleValue() > 1e-3, "training moved the transform");
            // Computed on another thread, as the routing thread does, while the model trains.
            var pool = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                var fromSnapshot = pool.submit(() -> snapshot.compute(b.images()));
                m.trainLocal(b.images(), b.labels());
                assertEquals(before, fromSnapshot.get());
            } finally {
                pool.shutdown();
            }
            snapshot.close();
            // Closing frees the snapshot's copies, not the model's parameters.
            assertTrue(Double.isFinite(m.trainLocal(b.images(), b.labels()).loss()));
            assertArrayEquals(new long[] {20, 320}, m.transform(b.images()).shape());
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

            INDArray g = uniform(30, -0.5, 0.5, 3, 2, 512);
            ServedBackward back = m.backwardImage(images5, g);
            assertArrayEquals(images5.shape(), back.inputsGrad().shape());
            assertEquals(Set.of("conv1_w", "conv1_b", "conv2_w", "conv2_b"), back.parameterGrads().keySet(),
                    "only the transform's parameters shape the served output");
            // The directional derivative of sum(g ⊙ forwardImage) along a random direction of the images.
            INDArray d = direction(31, images5.shape());
            double h = 1e-4; // small: the max-pool windows hold near-ties that a larger step would cross
            double numeric = (m.forwardImage(images5.add(d.mul(h))).mul(g).sumNumber().doubleValue()
                    - m.forwardImage(images5.sub(d.mul(h))).mul(g).sumNumber().doubleValue()) / (2 * h);
            double analytic = back.inputsGrad().mul(d).sumNumber().doubleValue();
            // float32 and kinks bound the agreement to a few percent; a wrong gradient misses by far more.
            assertEquals(analytic, numeric, 0.06 * Math.abs(analytic) + 1e-3);

            assertThrows(IllegalArgumentException.class, () -> m.forwardImage(b.images()));
            assertThrows(IllegalArgumentException.class, () -> m.backwardImage(images5, g.reshape(6, 512)));
        }
    }

    @Test
    void aServedCopyAnswersForwardAndBackwardFromManyThreads() throws Exception {
        MnistSplit.Batch b = squares(8, 5);
        INDArray images = b.images().reshape(8, 1, 1, 28, 28);
        INDArray g = uniform(40, -0.5, 0.5, 8, 1, 512);
        try (MnistModel trained = model(5); MnistModel served = trained.copy()) {
            INDArray expectedOut = served.forwardImage(images);
            INDArray expectedGrad = served.backwardImage(images, g).inputsGrad();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
            try {
                List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    boolean backward = i % 4 == 0;
                    results.add(pool.submit(() -> backward
                            ? served.backwardImage(images, g).inputsGrad().equalsWithEps(expectedGrad, 1e-5)
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
            ModelCheckpoints.save(a, file, Map.of("epoch", "7"));
            Map<String, String> meta = ModelCheckpoints.restore(other, file);
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
            CheckpointException e = assertThrows(CheckpointException.class, () -> ModelCheckpoints.restore(m, file));
            assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
            Path foreign = dir.resolve("other.ckpt");
            Checkpoints.save(foreign, Map.of("w", Nd4j.zeros(1)), Map.of("model", "cifar"));
            e = assertThrows(CheckpointException.class, () -> ModelCheckpoints.restore(m, foreign));
            assertTrue(e.getMessage().contains("'cifar'"), e.getMessage());
        }
    }
}
