package io.bittensor.examples.bench;

import io.bittensor.config.NativeBackend;
import io.bittensor.examples.mnist.MnistData;
import io.bittensor.examples.mnist.MnistDataset;
import io.bittensor.examples.mnist.MnistModel;
import io.bittensor.examples.mnist.MnistSplit;
import io.bittensor.examples.mnist.MnistTraining;
import io.bittensor.training.CosineDecaySchedule;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Solo MNIST benchmark: for each seed, a fresh model trains one epoch on the 60k training images
 * and is evaluated on the 10k test images; prints a table of accuracy, seconds per epoch and
 * training steps per second (the original measured 52.5 steps/s, 18.3 s/epoch here).
 */
@Command(name = "mnist-solo-bench", mixinStandardHelpOptions = true,
        description = "Trains the MNIST model alone and prints accuracy and speed per seed.")
public final class MnistSoloBench implements Callable<Integer> {
    @Option(names = "--datapath", defaultValue = "data/", description = "Where MNIST lives (fetched if absent). Default: ${DEFAULT-VALUE}")
    Path datapath;
    @Option(names = "--seeds", split = ",", defaultValue = "1,2,3", description = "Seeds, one run each. Default: ${DEFAULT-VALUE}")
    List<Long> seeds;
    @Option(names = "--epochs", defaultValue = "1", description = "Epochs per run. Default: ${DEFAULT-VALUE}")
    int epochs;
    @Option(names = "--batch_size", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}")
    int batchSize;
    @Option(names = "--optimizer", defaultValue = "adam", description = "adam or nesterov. Default: ${DEFAULT-VALUE}")
    String optimizer;
    @Option(names = "--learning_rate", defaultValue = "-1", description = "Default: 0.001 (adam), 0.05 (nesterov)")
    double learningRate;
    @Option(names = "--momentum", defaultValue = "0.9", description = "Nesterov momentum. Default: ${DEFAULT-VALUE}")
    double momentum;
    @Option(names = "--dropout", defaultValue = "0.5", description = "Conv2 channel dropout. Default: ${DEFAULT-VALUE}")
    double dropout;
    @Option(names = "--decay", defaultValue = "-1", description = "Cosine-decay the rate to this fraction over the run (-1 = constant).")
    double decay;
    @Option(names = "--train_limit", defaultValue = "0", description = "Use only the first N training images (0 = all).")
    int trainLimit;

    public static void main(String[] args) {
        NativeBackend.selectFastest();
        NativeBackend.filterNd4jStdoutNoise();
        System.exit(new CommandLine(new MnistSoloBench()).execute(args));
    }

    @Override
    public Integer call() {
        MnistDataset data = MnistData.load(datapath);
        MnistSplit train = trainLimit > 0 ? data.train().head(trainLimit) : data.train();
        steps = epochs * MnistTraining.stepsPerEpoch(train.size(), batchSize);
        List<String> rows = new ArrayList<>();
        double loadBefore = load();
        for (long seed : seeds) {
            MnistModel model = new MnistModel(new MnistModel.Options(seed, dropout, updater()));
            SplittableRandom rng = new SplittableRandom(seed);
            for (int epoch = 1; epoch <= epochs; epoch++) {
                MnistTraining.EpochResult e = MnistTraining.trainEpochLocal(model, train, batchSize, rng, null, System::nanoTime);
                MnistTraining.TestResult t = MnistTraining.evaluate(model, data.test(), 1000, System::nanoTime);
                String row = String.format(Locale.ROOT, "| %4d | %5d | %8.2f %% | %9.4f | %8.2f %% | %7.1f | %7.1f | %5.2f |",
                        seed, epoch, 100 * t.accuracy(), t.loss(), 100 * e.accuracy(), e.seconds(), e.stepsPerSecond(), load());
                System.out.println(row);
                rows.add(row);
            }
            model.close();
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "native build %s, %s, batch %d, dropout %.2f, OMP_NUM_THREADS=%s, load before %.2f%n",
                NativeBackend.describe(), describeUpdater(), batchSize, dropout, System.getenv("OMP_NUM_THREADS"), loadBefore);
        System.out.println("| seed | epoch | test acc   | test loss | train acc  | s/epoch | steps/s | load  |");
        System.out.println("|------|-------|------------|-----------|------------|---------|---------|-------|");
        rows.forEach(System.out::println);
        return 0;
    }

    private IUpdater updater() {
        return switch (optimizer) {
            case "adam" -> decay >= 0 ? new Adam(new CosineDecaySchedule(learningRate > 0 ? learningRate : 1e-3, decay, steps()))
                    : new Adam(learningRate > 0 ? learningRate : 1e-3);
            case "nesterov" -> new Nesterovs(learningRate > 0 ? learningRate : 0.05, momentum);
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "--optimizer must be adam or nesterov");
        };
    }

    private String describeUpdater() {
        IUpdater u = updater();
        return optimizer + " lr " + u.getLearningRate(0, 0) + (decay >= 0 ? " cosine to x" + decay : "");
    }

    private int steps;

    private int steps() {
        return steps;
    }

    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
