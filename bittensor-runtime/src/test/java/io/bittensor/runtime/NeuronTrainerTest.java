package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.config.NeuronConfig;
import io.bittensor.training.CheckpointException;
import io.bittensor.training.Checkpoints;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** The solo loop on a small real model: learning, metrics, best checkpoint, resume, stop. */
class NeuronTrainerTest {
    private static final int FEATURES = 4;
    private static final int CLASSES = 3;

    @TempDir
    Path tmp;

    private final Dataset data = Dataset.of(Blobs.of(400, FEATURES, CLASSES, 1), Blobs.of(150, FEATURES, CLASSES, 2));

    private NeuronConfig config(int epochs) {
        return NeuronConfig.builder().datapath(tmp).logdir(tmp.resolve("logs")).epochs(epochs).batchSize(20).build();
    }

    @Test
    void learnsLogsSavesTheBestAndResumesAfterIt() throws IOException {
        NeuronSpec<LinearModel> spec = LinearModel.spec(FEATURES, CLASSES);
        List<NeuronTrainer.EpochSummary> first;
        try (NeuronTrainer t = NeuronTrainer.solo(spec, data, config(2), new NeuronTrainer.Settings(7, 4, 1, 50))) {
            assertNull(t.synapseKey(), "alone, nothing is served");
            first = t.run();
        }
        assertEquals(List.of(1, 2), first.stream().map(NeuronTrainer.EpochSummary::epoch).toList());
        NeuronTrainer.EpochSummary e2 = first.get(1);
        assertFalse(e2.stopped());
        assertEquals(20, e2.steps());
        assertTrue(e2.testAccuracy() > 0.9, "blobs are learnable: " + e2);
        assertTrue(first.get(0).testLoss() > e2.testLoss(), first.toString());
        Path ckpt = tmp.resolve("linear.ckpt");
        Map<String, String> meta = Checkpoints.load(ckpt).metadata();
        assertEquals(LinearModel.ID, meta.get(ModelCheckpoints.MODEL));
        assertEquals("7", meta.get(ModelCheckpoints.SEED));

        List<NeuronTrainer.EpochSummary> second;
        try (NeuronTrainer t = NeuronTrainer.solo(spec, data, config(3), new NeuronTrainer.Settings(7, 4, 1, 50))) {
            assertEquals(40, t.model().iteration(), "the step count came back with the parameters");
            second = t.run();
        }
        assertEquals(List.of(3), second.stream().map(NeuronTrainer.EpochSummary::epoch).toList(), "resumed after epoch 2");
        assertTrue(second.get(0).testAccuracy() > 0.9, second.toString());

        List<MetricsLog.Row> rows;
        try (MetricsLog log = MetricsLog.open(tmp.resolve("logs"))) {
            rows = log.rows();
        }
        assertEquals(List.of(1, 2, 3), rows.stream().filter(r -> r.phase() == MetricsLog.Phase.TEST)
                .map(MetricsLog.Row::epoch).toList());
        // Train rows every 4 steps and at each epoch's end, with a global step that continues on resume.
        List<Long> steps = rows.stream().filter(r -> r.phase() == MetricsLog.Phase.TRAIN).map(MetricsLog.Row::step).toList();
        assertEquals(15, steps.size(), steps.toString());
        assertEquals(60L, steps.get(steps.size() - 1));
        for (String png : List.of("loss.png", "accuracy.png")) {
            assertTrue(Files.size(tmp.resolve("logs").resolve(png)) > 1000, png);
        }
    }

    @Test
    void stopEndsTheEpochAfterTheCurrentStep() throws IOException {
        try (NeuronTrainer t = NeuronTrainer.solo(LinearModel.spec(FEATURES, CLASSES), data, config(5),
                new NeuronTrainer.Settings(1, 50, 1, 50))) {
            List<Integer> seen = new ArrayList<>();
            t.setListener((epoch, step, r, answered, stats) -> {
                seen.add(step);
                assertNull(stats);
                if (step == 2) {
                    t.stop();
                }
            });
            List<NeuronTrainer.EpochSummary> out = t.run();
            assertEquals(1, out.size());
            assertTrue(out.get(0).stopped());
            assertEquals(3, out.get(0).steps());
            assertTrue(Double.isNaN(out.get(0).testLoss()));
            assertEquals(List.of(0, 1, 2), seen);
        }
        assertFalse(Files.exists(tmp.resolve("linear.ckpt")), "a stopped epoch is not evaluated or saved");
    }

    @Test
    void aCheckpointOfAnotherModelIsRefusedAndTheModelClosed() throws IOException {
        Checkpoints.save(tmp.resolve("linear.ckpt"), Map.of("w", Nd4j.zeros(1)), Map.of("model", "cifar-dpn"));
        List<LinearModel> made = new ArrayList<>();
        NeuronSpec<LinearModel> spec = new NeuronSpec<>("linear", 0.5, "linear.ckpt", (seed, rate, steps) -> {
            LinearModel m = new LinearModel(FEATURES, CLASSES, rate, seed);
            made.add(m);
            return m;
        });
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> NeuronTrainer.solo(spec, data, config(1), NeuronTrainer.Settings.defaults(1)));
        assertTrue(e.getMessage().contains("cifar-dpn") && e.getMessage().contains("--model_path"), e.getMessage());
        assertTrue(made.get(0).closed);
    }

    @Test
    void theFactoryIsAskedForTheRunsRateAndSchedule() throws IOException {
        List<double[]> asked = new ArrayList<>();
        NeuronSpec<LinearModel> spec = new NeuronSpec<>("linear", 0.25, "linear.ckpt", (seed, rate, steps) -> {
            asked.add(new double[] {seed, rate, steps});
            return new LinearModel(FEATURES, CLASSES, rate, seed);
        });
        try (NeuronTrainer t = NeuronTrainer.solo(spec, data, config(3), NeuronTrainer.Settings.defaults(9))) {
            assertEquals(1, asked.size());
        }
        // Default rate from the spec; 3 epochs of 20 steps, one optimizer step each alone.
        assertEquals(List.of(9.0, 0.25, 60.0), List.of(asked.get(0)[0], asked.get(0)[1], asked.get(0)[2]));
        NeuronConfig fast = NeuronConfig.builder().datapath(tmp.resolve("b")).logdir(tmp.resolve("b")).epochs(1)
                .batchSize(20).learningRate(0.1).build();
        try (NeuronTrainer t = NeuronTrainer.solo(spec, data, fast, NeuronTrainer.Settings.defaults(9))) {
            assertEquals(0.1, asked.get(1)[1]);
        }
    }

    @Test
    void settingsRefuseNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new NeuronTrainer.Settings(1, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new NeuronTrainer.Settings(1, 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new NeuronTrainer.Settings(1, 1, 1, 0));
    }

    @Test
    void datasetLimitCutsEachSplit() {
        Dataset cut = data.limit(100, 0);
        assertEquals(100, cut.train().size());
        assertEquals(150, cut.test().size());
        assertEquals(data, data.limit(0, 1000), "no cut, same data set");
    }
}
