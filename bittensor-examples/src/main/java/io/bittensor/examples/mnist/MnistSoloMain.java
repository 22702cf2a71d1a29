package io.bittensor.examples.mnist;

import io.bittensor.config.MemoryBudget;
import io.bittensor.config.NativeBackend;
import io.bittensor.config.NeuronConfig;
import io.bittensor.metrics.NeuronMetrics;
import io.bittensor.runtime.NeuronOptions;
import io.bittensor.training.EpochProgress;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

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

    @Mixin
    MnistRunOptions run;

    public static void main(String[] args) {
        MemoryBudget.applyDefaults(); // before anything loads ND4J
        NativeBackend.selectFastest();
        NativeBackend.filterNd4jStdoutNoise();
        System.exit(commandLine().execute(args));
    }

    /** The command line with one-line errors: bad flags exit 2, data/checkpoint problems exit 1. */
    static CommandLine commandLine() {
        return MnistRunOptions.commandLine(new MnistSoloMain());
    }

    @Override
    public Integer call() throws IOException {
        MemoryBudget.current().log();
        NeuronConfig config = neuron.toConfig();
        long s = run.seedOrRandom();
        MnistDataset data = run.limit(MnistData.load(config.datapath()));
        int steps = MnistTraining.stepsPerEpoch(data.train().size(), config.batchSize());
        double rate = config.learningRateOr(MnistModel.DEFAULT_LEARNING_RATE);
        Path modelPath = config.modelPath().orElse(config.datapath().resolve(DEFAULT_MODEL_FILE));
        LOG.info("MNIST alone: seed {}, {} epochs of {} steps (batch {}), Adam {} with cosine decay, native {}",
                s, config.epochs(), steps, config.batchSize(), rate, NativeBackend.describe());

        try (MnistModel model = new MnistModel(MnistModel.Options.defaults(s, rate, config.epochs() * steps));
                MetricsLog metrics = MetricsLog.open(config.logdir());
                NeuronMetrics gauges = NeuronMetrics.builder().build()) {
            if (config.metricsPort().isPresent()) { // training series only: no network alone
                gauges.serve(config.metricsPort().getAsInt());
                LOG.info("metrics: http://{}:{}/metrics", config.remoteIp(), gauges.port());
            }
            MnistCheckpoint resumed = MnistCheckpoint.resume(model, modelPath);
            int firstEpoch = resumed.nextEpoch();
            double best = resumed.bestLoss();
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
                            gauges.steps(1);
                            if ((step + 1) % run.logInterval == 0 || step + 1 == total) {
                                appendQuietly(metrics, gauges, MetricsLog.Phase.TRAIN, e, model.iteration(), running[0], running[1]);
                            }
                        }, System::nanoTime);
                MnistTraining.TestResult t = MnistTraining.evaluate(model, data.test(), 500, System::nanoTime);
                appendQuietly(metrics, gauges, MetricsLog.Phase.TEST, epoch, model.iteration(), t.loss(), t.accuracy());
                metrics.plot();
                LOG.info(String.format(Locale.ROOT, "epoch %d: test loss %.4f, accuracy %.2f %% (%d/%d); %.1f s, %.1f steps/s",
                        epoch, t.loss(), 100 * t.accuracy(), t.correct(), t.count(), r.seconds(), r.stepsPerSecond()));
                if (t.loss() < best) {
                    best = t.loss();
                    MnistCheckpoint.save(model, modelPath, epoch, t, s);
                    LOG.info("Saved the best model so far to {}", modelPath);
                }
            }
            LOG.info("Metrics and plots in {}", config.logdir().toAbsolutePath());
        }
        return 0;
    }

    /** Metrics are a by-product: failing to write them must not stop training. */
    private static void appendQuietly(MetricsLog metrics, NeuronMetrics gauges, MetricsLog.Phase phase, int epoch,
            long step, double loss, double accuracy) {
        gauges.training(phase.name().toLowerCase(Locale.ROOT), loss, accuracy);
        try {
            metrics.append(phase, epoch, step, loss, accuracy, 0, Double.NaN, 0);
        } catch (IOException ex) {
            LOG.warn("could not append to {}: {}", metrics.file(), ex.toString());
        }
    }
}
