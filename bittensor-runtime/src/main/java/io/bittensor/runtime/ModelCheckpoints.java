package io.bittensor.runtime;

import io.bittensor.training.CheckpointException;
import io.bittensor.training.Checkpoints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link NeuronModel} in a checkpoint file ({@link Checkpoints}' format, written atomically):
 * parameters, buffers (untrained state such as running statistics), optimizer state and step
 * count, the model's id, and the run's metadata; and where a run resumes from one.
 */
public final class ModelCheckpoints {
    private static final Logger LOG = LoggerFactory.getLogger(ModelCheckpoints.class);
    private static final String OPTIMIZER_PREFIX = "optimizer/";
    private static final String BUFFER_PREFIX = "buffer/";
    /** Metadata keys the runtime writes. */
    public static final String MODEL = "model";
    public static final String ITERATION = "iteration";
    public static final String EPOCH = "epoch";
    public static final String TEST_LOSS = "test_loss";
    public static final String TEST_ACCURACY = "test_accuracy";
    public static final String SEED = "seed";

    private ModelCheckpoints() {}

    /**
     * Where a run resumes.
     *
     * @param nextEpoch the first epoch to train
     * @param bestLoss  the test loss a new checkpoint must beat
     */
    public record Resume(int nextEpoch, double bestLoss) {
        public static final Resume FRESH = new Resume(1, Double.POSITIVE_INFINITY);
    }

    /** Saves parameters, optimizer state and step count, plus {@code metadata}, atomically. */
    public static void save(NeuronModel model, Path file, Map<String, String> metadata) throws IOException {
        Map<String, INDArray> arrays = new LinkedHashMap<>(model.parameters());
        model.buffers().forEach((k, v) -> arrays.put(BUFFER_PREFIX + k, v));
        model.optimizerState().forEach((k, v) -> arrays.put(OPTIMIZER_PREFIX + k, v));
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put(MODEL, model.modelId());
        meta.put(ITERATION, Integer.toString(model.iteration()));
        Checkpoints.save(file, arrays, meta);
    }

    /**
     * Loads a checkpoint written by {@link #save} into {@code model}.
     *
     * @return the checkpoint's metadata
     * @throws CheckpointException if the file is missing, damaged, or holds another model (the model unchanged)
     */
    public static Map<String, String> restore(NeuronModel model, Path file) {
        Checkpoints.Checkpoint c = Checkpoints.load(file);
        String id = c.metadata().get(MODEL);
        if (!model.modelId().equals(id)) {
            throw new CheckpointException("checkpoint " + file + " holds a '" + id + "' model, not '" + model.modelId()
                    + "'; pass another --model_path");
        }
        Map<String, INDArray> buffers = withPrefix(c.arrays(), BUFFER_PREFIX);
        try {
            checkBuffers(model.buffers(), buffers); // before anything changes
            model.setParameters(c.arrays());
            if (!buffers.isEmpty()) {
                model.setBuffers(buffers);
            }
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("checkpoint " + file + " does not fit this model: " + e.getMessage());
        }
        Map<String, INDArray> opt = withPrefix(c.arrays(), OPTIMIZER_PREFIX);
        int iteration;
        try {
            iteration = Integer.parseInt(c.metadata().getOrDefault(ITERATION, "0"));
        } catch (NumberFormatException e) {
            throw new CheckpointException("checkpoint " + file + " has a malformed step count; pass another --model_path");
        }
        model.setOptimizerState(opt, iteration);
        return c.metadata();
    }

    private static Map<String, INDArray> withPrefix(Map<String, INDArray> arrays, String prefix) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        arrays.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    /** Every buffer the model has must be in the checkpoint, in its shape. */
    private static void checkBuffers(Map<String, INDArray> expected, Map<String, INDArray> saved) {
        expected.forEach((name, v) -> {
            INDArray s = saved.get(name);
            if (s == null) {
                throw new IllegalArgumentException("buffer " + name + " is missing");
            }
            if (!java.util.Arrays.equals(s.shape(), v.shape())) {
                throw new IllegalArgumentException("buffer " + name + " has shape " + java.util.Arrays.toString(s.shape())
                        + ", expected " + java.util.Arrays.toString(v.shape()));
            }
        });
    }

    /**
     * Restores {@code model} from {@code file} if that file exists, and says where the run goes on.
     *
     * @throws CheckpointException if it exists but cannot be used
     */
    public static Resume resume(NeuronModel model, Path file) {
        if (!Files.exists(file)) {
            return Resume.FRESH;
        }
        Map<String, String> meta = restore(model, file);
        try {
            int done = Integer.parseInt(meta.getOrDefault(EPOCH, "0"));
            double best = Double.parseDouble(meta.getOrDefault(TEST_LOSS, "Infinity"));
            LOG.info("Resumed from {} (epoch {}, test loss {}, accuracy {})", file, done, meta.get(TEST_LOSS),
                    meta.get(TEST_ACCURACY));
            return new Resume(done + 1, best);
        } catch (NumberFormatException e) {
            throw new CheckpointException("checkpoint " + file + " has malformed epoch or loss metadata;"
                    + " pass another --model_path, or delete it to start afresh");
        }
    }

    /** Saves {@code model} as the best so far: after {@code epoch}, with its test figures. */
    public static void saveBest(NeuronModel model, Path file, int epoch, TestResult test, long seed) throws IOException {
        save(model, file, Map.of(EPOCH, Integer.toString(epoch), TEST_LOSS, Double.toString(test.loss()),
                TEST_ACCURACY, Double.toString(test.accuracy()), SEED, Long.toString(seed)));
    }
}
