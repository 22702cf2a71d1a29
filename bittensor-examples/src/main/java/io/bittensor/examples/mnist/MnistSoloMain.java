package io.bittensor.examples.mnist;

import io.bittensor.config.NativeBackend;
import io.bittensor.config.NeuronConfig;
import io.bittensor.config.NeuronOptions;
import io.bittensor.training.CheckpointException;
import io.bittensor.training.EpochProgress;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Trains the MNIST model alone (no network): each epoch trains on the 60k images, evaluates on
 * the 10k test images, appends metrics to {@code <logdir>/metrics.csv}, redraws the plots, and
 * saves the best model so far to {@code --model_path} (resuming from it at start). Takes the
 * neuron flags; the network ones are accepted and unused here.
 */
@Command(name = "mnist-solo", mixinStandardHelpOptions = true,
        description = "Trains the MNIST neuron's model alone on real MNIST.")
public final class MnistSoloMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(MnistSoloMain.class);
    /** Checkpoint file in datapath when --model_path is not given. */
    public static final String DEFAULT_MODEL_FILE = "mnist-model.ckpt";

    @Mixin
    NeuronOptions neuron;

    @Option(names = "--seed", paramLabel = "N", description = "Seed for initialisation, shuffling and dropout. Default: random")
    Long seed;

    @Option(names = "--log_interval", paramLabel = "STEPS", defaultValue = "50",
            description = "Training steps between metric rows. Default: ${DEFAULT-VALUE}")
    int logInterval;

    @Option(names = "--train_limit", paramLabel = "N", defaultValue = "0",
            description = "Train on the first N images only (0 = all 60,000); for quick runs.")
    int trainLimit;

    @Option(names = "--test_limit", paramLabel = "N", defaultValue = "0",
            description = "Evaluate on the first N test images only (0 = all 10,000).")
    int testLimit;

    public static void main(String[] args) {
        NativeBackend.selectFastest();
        NativeBackend.filterNd4jStdoutNoise();
        System.exit(commandLine().execute(args));
    }

    /** The command line with one-line errors: bad flags exit 2, data/checkpoint problems exit 1. */
    static CommandLine commandLine() {
        CommandLine cmd = NeuronOptions.withErrorHandler(new CommandLine(new MnistSoloMain()));
        cmd.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof MnistDataException || ex instanceof CheckpointException) {
                c.getErr().println(c.getCommandName() + ": " + ex.getMessage());
                return 1;
            }
            throw ex;
        });
        return cmd;
    }

    @Override
    public Integer call() throws IOException {
        NeuronConfig config = neuron.toConfig();
        long s = seed != null ? seed : new SecureRandom().nextLong();
        MnistDataset all = MnistData.load(config.datapath());
        MnistDataset data = new MnistDataset(limit(all.train(), trainLimit), limit(all.test(), testLimit));
        int steps = MnistTraining.stepsPerEpoch(data.train().size(), config.batchSize());
        double rate = config.learningRateOr(MnistModel.DEFAULT_LEARNING_RATE);
        Path modelPath = config.modelPath().orElse(config.datapath().resolve(DEFAULT_MODEL_FILE));
        LOG.info("MNIST alone: seed {}, {} epochs of {} steps (batch {}), Adam {} with cosine decay, native {}",
                s, config.epochs(), steps, config.batchSize(), rate, NativeBackend.describe());

        try (MnistModel model = new MnistModel(MnistModel.Options.defaults(s, rate, config.epochs() * steps));
                MetricsLog metrics = MetricsLog.open(config.logdir())) {
            int firstEpoch = 1;
            double best = Double.POSITIVE_INFINITY;
            if (Files.exists(modelPath)) {
                Map<String, String> meta = model.restoreCheckpoint(modelPath);
                firstEpoch = Integer.parseInt(meta.getOrDefault("epoch", "0")) + 1;
                best = Double.parseDouble(meta.getOrDefault("test_loss", "Infinity"));
                LOG.info("Resumed from {} (epoch {}, test loss {}, accuracy {})", modelPath, firstEpoch - 1,
                        meta.get("test_loss"), meta.get("test_accuracy"));
            }
            SplittableRandom rng = new SplittableRandom(s + firstEpoch);
            for (int epoch = firstEpoch; epoch <= config.epochs(); epoch++) {
                EpochProgress progress = EpochProgress.logging(epoch, steps);
                int e = epoch;
                double[] running = {Double.NaN, Double.NaN};
                MnistTraining.EpochResult r = MnistTraining.trainEpochLocal(model, data.train(), config.batchSize(), rng,
                        (step, total, res) -> {
                            running[0] = Double.isNaN(running[0]) ? res.loss() : 0.98 * running[0] + 0.02 * res.loss();
                            running[1] = Double.isNaN(running[1]) ? res.accuracy() : 0.98 * running[1] + 0.02 * res.accuracy();
                            progress.update(step + 1, running[0], running[1]);
                            if ((step + 1) % logInterval == 0 || step + 1 == total) {
                                appendQuietly(metrics, MetricsLog.Phase.TRAIN, e, model.iteration(), running[0], running[1]);
                            }
                        }, System::nanoTime);
                MnistTraining.TestResult t = MnistTraining.evaluate(model, data.test(), 500, System::nanoTime);
                appendQuietly(metrics, MetricsLog.Phase.TEST, epoch, model.iteration(), t.loss(), t.accuracy());
                metrics.plot();
                LOG.info(String.format(Locale.ROOT, "epoch %d: test loss %.4f, accuracy %.2f %% (%d/%d); %.1f s, %.1f steps/s",
                        epoch, t.loss(), 100 * t.accuracy(), t.correct(), t.count(), r.seconds(), r.stepsPerSecond()));
                if (t.loss() < best) {
                    best = t.loss();
                    model.saveCheckpoint(modelPath, Map.of("epoch", Integer.toString(epoch),
                            "test_loss", Double.toString(t.loss()), "test_accuracy", Double.toString(t.accuracy()),
                            "seed", Long.toString(s)));
                    LOG.info("Saved the best model so far to {}", modelPath);
                }
            }
            LOG.info("Metrics and plots in {}", config.logdir().toAbsolutePath());
        }
        return 0;
    }

    private static MnistSplit limit(MnistSplit split, int n) {
        return n > 0 && n < split.size() ? split.head(n) : split;
    }

    /** Metrics are a by-product: failing to write them must not stop training. */
    private static void appendQuietly(MetricsLog metrics, MetricsLog.Phase phase, int epoch, long step, double loss,
            double accuracy) {
        try {
            metrics.append(phase, epoch, step, loss, accuracy, 0, Double.NaN, 0);
        } catch (IOException ex) {
            LOG.warn("could not append to {}: {}", metrics.file(), ex.toString());
        }
    }
}
