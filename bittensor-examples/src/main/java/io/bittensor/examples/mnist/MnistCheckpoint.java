package io.bittensor.examples.mnist;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an MNIST run resumes: the epoch after the checkpoint's and its test loss to beat.
 *
 * @param nextEpoch the first epoch to train
 * @param bestLoss  the test loss a new checkpoint must beat
 */
record MnistCheckpoint(int nextEpoch, double bestLoss) {
    private static final Logger LOG = LoggerFactory.getLogger(MnistCheckpoint.class);

    /**
     * Restores {@code model} from {@code path} if that file exists.
     *
     * @throws io.bittensor.training.CheckpointException if it exists but cannot be used
     */
    static MnistCheckpoint resume(MnistModel model, Path path) {
        if (!Files.exists(path)) {
            return new MnistCheckpoint(1, Double.POSITIVE_INFINITY);
        }
        Map<String, String> meta = model.restoreCheckpoint(path);
        int done = Integer.parseInt(meta.getOrDefault("epoch", "0"));
        LOG.info("Resumed from {} (epoch {}, test loss {}, accuracy {})", path, done, meta.get("test_loss"),
                meta.get("test_accuracy"));
        return new MnistCheckpoint(done + 1, Double.parseDouble(meta.getOrDefault("test_loss", "Infinity")));
    }

    /** Saves {@code model} as the best so far, after {@code epoch} with test figures {@code t}. */
    static void save(MnistModel model, Path path, int epoch, MnistTraining.TestResult t, long seed) throws IOException {
        model.saveCheckpoint(path, Map.of("epoch", Integer.toString(epoch), "test_loss", Double.toString(t.loss()),
                "test_accuracy", Double.toString(t.accuracy()), "seed", Long.toString(seed)));
    }
}
