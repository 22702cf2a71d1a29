package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The hand-written passes against SameDiff's autodiff of the same model ({@link MnistReferenceGraph})
 * at the same point: losses, every parameter's gradient, d network and d images, with and without
 * channel dropout, and buffers reused across passes of different kinds and batch sizes.
 */
class MnistEngineTest {
    private static Map<String, INDArray> parameters(long seed) {
        try (MnistModel m = new MnistModel(new MnistModel.Options(seed, 0.0, new Adam(1e-3)))) {
            return new LinkedHashMap<>(m.parameters());
        }
    }

    private static INDArray uniform(long seed, double lo, double hi, long... shape) {
        return MnistModelTest.uniform(seed, lo, hi, shape);
    }

    private static INDArray oneHot(long seed, int b) {
        INDArray y = Nd4j.zeros(DataType.FLOAT, b, MnistModel.CLASSES);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < b; i++) {
            y.putScalar(i, rng.nextInt(MnistModel.CLASSES), 1);
        }
        return y;
    }

    /** Channel dropout at rate ½ with the 1/(1-p) scale, drawn from a seed. */
    private static INDArray mask(long seed, int b) {
        return uniform(seed, 0, 1, b, MnistModel.CONV2_CHANNELS).gt(0.5).castTo(DataType.FLOAT).muli(2);
    }

    /** Every expected gradient matches the engine's to float accuracy (relative to the largest entry). */
    private static void assertSameGradients(Map<String, INDArray> expected, Map<String, INDArray> actual, List<String> names) {
        for (String name : names) {
            INDArray e = expected.get(name);
            INDArray a = actual.get(name).reshape(e.shape());
            double scale = Math.max(e.amaxNumber().doubleValue(), 1e-6);
            double diff = e.sub(a).amaxNumber().doubleValue();
            assertTrue(diff <= 1e-3 * scale + 1e-6, name + ": max |difference| " + diff + " against max |gradient| " + scale);
        }
    }

    @Test
    void localStepMatchesSameDiffWithDropout() {
        Map<String, INDArray> p = parameters(1);
        int b = 7;
        INDArray images = uniform(2, 0, 1, b, 1, 28, 28);
        INDArray labels = oneHot(3, b);
        INDArray mask = mask(4, b);
        MnistReferenceGraph ref = new MnistReferenceGraph(p);
        try (MnistEngine engine = new MnistEngine(p)) {
            MnistEngine.Losses l = engine.trainLocal(images, labels, mask);
            assertEquals(ref.loss(MnistReferenceGraph.LOCAL_LOSS, images, labels, mask, null), l.local(), 1e-5);
            Map<String, INDArray> expected = ref.gradients(MnistReferenceGraph.LOCAL_LOSS, images, labels, mask, null, null);
            // The student's output is a stopped context here: it is not trained by the local loss.
            List<String> trained = p.keySet().stream().filter(n -> !n.startsWith("student")).toList();
            assertSameGradients(expected, engine.gradients(), trained);
        }
    }

    @Test
    void networkStepMatchesSameDiffForEveryParameterAndTheNetwork() {
        Map<String, INDArray> p = parameters(5);
        MnistReferenceGraph ref = new MnistReferenceGraph(p);
        try (MnistEngine engine = new MnistEngine(p)) {
            for (int b : new int[] {6, 9}) { // a second batch size: the buffers are rebuilt
                INDArray images = uniform(6 + b, 0, 1, b, 1, 28, 28);
                INDArray labels = oneHot(7 + b, b);
                INDArray network = uniform(8 + b, 0, 2, b, 512);
                INDArray mask = b == 6 ? null : mask(9, b);
                engine.trainLocal(images, labels, mask); // a pass of the other kind first: nothing may carry over
                MnistEngine.Losses l = engine.trainNetwork(images, labels, mask, network);
                assertEquals(ref.loss(MnistReferenceGraph.TOTAL_LOSS, images, labels, mask, network), l.total(), 1e-4);
                assertEquals(ref.loss("remote_loss", images, labels, mask, network), l.remote(), 1e-5);
                assertEquals(ref.loss("distill_loss", images, labels, mask, network), l.distill(), 1e-5);
                Map<String, INDArray> expected = ref.gradients(MnistReferenceGraph.TOTAL_LOSS, images, labels, mask,
                        network, null, "network");
                assertSameGradients(expected, engine.gradients(), List.copyOf(p.keySet()));
                assertSameGradients(expected, Map.of("network", engine.networkGradient()), List.of("network"));
            }
        }
    }

    @Test
    void servedBackwardMatchesSameDiffForTheImagesAndTheConvParameters() {
        Map<String, INDArray> p = parameters(10);
        int b = 5;
        INDArray images = uniform(11, 0, 1, b, 1, 28, 28);
        INDArray g = uniform(12, -0.5, 0.5, b, MnistModel.TRANSFORM_DIM);
        MnistReferenceGraph ref = new MnistReferenceGraph(p);
        try (MnistEngine engine = new MnistEngine(p)) {
            // A training pass with dropout first: the served pass must overwrite its buffers, and use no mask.
            engine.trainNetwork(images, oneHot(13, b), mask(14, b), uniform(15, 0, 1, b, 512));
            INDArray dImages = engine.servedBackward(images, g);
            Map<String, INDArray> expected = ref.gradients(MnistReferenceGraph.SERVED_LOSS, images, null, null, null, g,
                    "images");
            assertSameGradients(expected, engine.gradients(), List.of("conv1_w", "conv1_b", "conv2_w", "conv2_b"));
            assertSameGradients(expected, Map.of("images", dImages), List.of("images"));
        }
    }

    @Test
    void inferenceMatchesSameDiffAndTrainingWithoutDropout() {
        Map<String, INDArray> p = parameters(16);
        int b = 4;
        INDArray images = uniform(17, 0, 1, b, 1, 28, 28);
        INDArray labels = oneHot(18, b);
        MnistReferenceGraph ref = new MnistReferenceGraph(p);
        INDArray t = MnistEngine.inferTransform(p, images);
        double inferred = MnistEngine.crossEntropy(MnistEngine.inferLogits(p, t, MnistEngine.inferStudent(p, t)), labels);
        assertEquals(ref.loss(MnistReferenceGraph.LOCAL_LOSS, images, labels, null, null), inferred, 1e-5);
        try (MnistEngine engine = new MnistEngine(p)) {
            assertEquals(inferred, engine.trainLocal(images, labels, null).local(), 1e-5);
        }
    }

    @Test
    void pooledInferenceGivesTheSameTransformAndTheSetsAreReused() {
        Map<String, INDArray> p = parameters(19);
        INDArray images = uniform(20, 0, 1, 3, 1, 28, 28);
        INDArray expected = MnistEngine.inferTransform(p, images);
        try (MnistEngine.ScratchPool pool = new MnistEngine.ScratchPool(2)) {
            assertEquals(expected, MnistEngine.inferTransform(p, images, pool));
            assertEquals(1, pool.idle());
            assertEquals(expected, MnistEngine.inferTransform(p, images, pool), "a reused set gives the same answer");
            assertEquals(1, pool.idle());
        }
    }

    @Test
    void scratchPoolKeepsAtMostItsCapacityAndFreesSetsOnClose() {
        MnistEngine.ScratchPool pool = new MnistEngine.ScratchPool(2);
        MnistEngine.ConvScratch a = pool.take(4);
        MnistEngine.ConvScratch b = pool.take(4);
        MnistEngine.ConvScratch c = pool.take(8);
        pool.give(a);
        pool.give(b);
        pool.give(c); // over capacity: the oldest idle set (a) is freed
        assertEquals(2, pool.idle());
        assertTrue(a.c1.wasClosed());
        assertSame(c, pool.take(8), "a set of the asked batch size is reused");
        assertSame(b, pool.take(4));
        MnistEngine.ConvScratch d = pool.take(4);
        assertNotSame(b, d, "none idle: a new set");
        pool.give(b);
        pool.close();
        assertTrue(b.c1.wasClosed(), "close frees the idle sets");
        pool.give(d);
        assertTrue(d.c1.wasClosed(), "a set given back after close is freed at once");
        assertEquals(0, pool.idle());
        c.close();
    }
}
