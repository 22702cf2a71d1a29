package io.bittensor.examples.bench;

import io.bittensor.config.NativeBackend;
import io.bittensor.examples.mnist.MnistData;
import io.bittensor.examples.mnist.MnistDataset;
import io.bittensor.examples.mnist.MnistModel;
import io.bittensor.examples.mnist.MnistSplit;
import io.bittensor.config.NeuronConfig;
import io.bittensor.runtime.Dataset;
import io.bittensor.runtime.Epochs;
import io.bittensor.runtime.NeuronSpec;
import io.bittensor.runtime.NeuronTrainer;
import io.bittensor.training.CosineDecaySchedule;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.schedule.ISchedule;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Solo MNIST benchmark: for each seed, a fresh model trains on the 60k training images through the
 * runtime's solo loop ({@link NeuronTrainer}, metrics and checkpoints in a temporary directory) and
 * is evaluated on the 10k test images after every epoch; prints a table of test accuracy, seconds
 * per epoch and training steps per second. (The original, measured on this kind of machine:
 * 52.5 steps/s, 18.3 s per epoch, 40–97 % test accuracy after one epoch depending on the seed.)
 */
@Command(name = "mnist-solo-bench", mixinStandardHelpOptions = true,
        description = "Trains the MNIST model alone and prints accuracy and speed per seed.")
public final class MnistSoloBench implements Callable<Integer> {
    @Option(names = "--datapath", defaultValue = "data/", description = "Where MNIST lives (fetched if absent). Default: ${DEFAULT-VALUE}")
    Path datapath;
    @Option(names = "--seeds", split = ",", defaultValue = "1,2,3,4,5", description = "Seeds, one run each. Default: ${DEFAULT-VALUE}")
    List<Long> seeds;
    @Option(names = "--epochs", defaultValue = "1", description = "Epochs per run. Default: ${DEFAULT-VALUE}")
    int epochs;
    @Option(names = "--batch_size", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}")
    int batchSize;
    @Option(names = "--optimizer", defaultValue = "adam", description = "adam or nesterov. Default: ${DEFAULT-VALUE}")
    String optimizer;
    @Option(names = "--learning_rate", defaultValue = "" + MnistModel.DEFAULT_LEARNING_RATE, description = "Default: ${DEFAULT-VALUE}")
    double learningRate;
    @Option(names = "--momentum", defaultValue = "0.9", description = "Nesterov momentum. Default: ${DEFAULT-VALUE}")
    double momentum;
    @Option(names = "--decay", defaultValue = "" + MnistModel.DEFAULT_DECAY_FLOOR,
            description = "Cosine-decay the rate to this fraction over the run; -1 = constant rate. Default: ${DEFAULT-VALUE}")
    double decay;
    @Option(names = "--dropout", defaultValue = "" + MnistModel.DEFAULT_DROPOUT, description = "Conv2 channel dropout. Default: ${DEFAULT-VALUE}")
    double dropout;
    @Option(names = "--train_limit", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int trainLimit;
    @Option(names = "--warmup", defaultValue = "100",
            description = "Untimed steps on a throwaway model first, so JIT compilation is not timed. Default: ${DEFAULT-VALUE}")
    int warmup;

    public static void main(String[] args) {
        NativeBackend.selectFastest();
        NativeBackend.filterNd4jStdoutNoise();
        System.exit(new CommandLine(new MnistSoloBench()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        MnistDataset data = MnistData.load(datapath);
        MnistSplit train = trainLimit > 0 ? data.train().head(trainLimit) : data.train();
        int steps = epochs * Epochs.stepsPerEpoch(train.size(), batchSize);
        double loadBefore = load();
        List<String> rows = new ArrayList<>();
        List<Double> accuracies = new ArrayList<>();
        List<Double> rates = new ArrayList<>();
        Path scratch = Files.createTempDirectory("mnist-solo-bench");
        try {
            if (warmup > 0) {
                run(Dataset.of(train.head(Math.min(train.size(), warmup * batchSize)), data.test().head(1000)), 0, 1,
                        steps, scratch.resolve("warmup"));
            }
            for (long seed : seeds) {
                for (NeuronTrainer.EpochSummary e : run(Dataset.of(train, data.test()), seed, epochs, steps,
                        scratch.resolve("seed" + seed))) {
                    String row = String.format(Locale.ROOT, "| %4d | %5d | %7.2f %% | %9.4f | %7.2f %% | %7.1f | %7.1f | %7.1f | %4.2f |",
                            seed, e.epoch(), 100 * e.testAccuracy(), e.testLoss(), 100 * e.trainAccuracy(), e.seconds(),
                            e.stepsPerSecond(), e.testSeconds(), load());
                    System.err.println(row);
                    rows.add(row);
                    if (e.epoch() == epochs) {
                        accuracies.add(e.testAccuracy());
                    }
                    rates.add(e.stepsPerSecond());
                }
            }
        } finally {
            deleteRecursively(scratch);
        }
        System.out.printf(Locale.ROOT, "native build %s, %s, batch %d, dropout %.2f, OMP_NUM_THREADS=%s, %d warm-up steps,"
                        + " %d cores, load average before %.2f%n",
                NativeBackend.describe(), describeUpdater(steps), batchSize, dropout, System.getenv("OMP_NUM_THREADS"), warmup,
                Runtime.getRuntime().availableProcessors(), loadBefore);
        System.out.println("| seed | epoch | test acc  | test loss | train acc | s/epoch | steps/s | test s  | load |");
        System.out.println("|------|-------|-----------|-----------|-----------|---------|---------|---------|------|");
        rows.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "test accuracy after %d epoch(s): min %.2f %%, median %.2f %%; steps/s: min %.1f, median %.1f%n",
                epochs, 100 * min(accuracies), 100 * median(accuracies), min(rates), median(rates));
        return 0;
    }

    /** One fresh run of the runtime's solo trainer, its checkpoint and metrics in {@code dir}. */
    private List<NeuronTrainer.EpochSummary> run(Dataset data, long seed, int runEpochs, int plannedSteps, Path dir)
            throws IOException {
        NeuronSpec<MnistModel> spec = new NeuronSpec<>(MnistModel.NAME, learningRate, MnistModel.DEFAULT_MODEL_FILE,
                (s, rate, planned) -> new MnistModel(new MnistModel.Options(s, dropout, updater(plannedSteps))));
        NeuronConfig config = NeuronConfig.builder().datapath(dir).logdir(dir).epochs(runEpochs).batchSize(batchSize)
                .build();
        try (NeuronTrainer trainer = NeuronTrainer.solo(spec, data, config, new NeuronTrainer.Settings(seed, 50, 1, 1000))) {
            return trainer.run();
        }
    }

    /** Deletes a scratch directory tree (also used by the other MNIST bench). */
    static void deleteRecursively(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private IUpdater updater(int steps) {
        ISchedule schedule = decay >= 0 ? new CosineDecaySchedule(learningRate, decay, steps) : null;
        return switch (optimizer) {
            case "adam" -> schedule != null ? new Adam(schedule) : new Adam(learningRate);
            case "nesterov" -> schedule != null ? new Nesterovs(schedule, momentum) : new Nesterovs(learningRate, momentum);
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "--optimizer must be adam or nesterov");
        };
    }

    private String describeUpdater(int steps) {
        return optimizer + " lr " + learningRate + (decay >= 0 ? " cosine-decayed to x" + decay + " over " + steps + " steps" : "");
    }

    private static double min(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length == 0 ? Double.NaN : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
