package io.bittensor.examples.mnist;

import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/** Training an MNIST model alone for one epoch, and evaluating it on a split. */
public final class MnistTraining {
    private MnistTraining() {}

    /** Called after every training step (progress, metrics). */
    @FunctionalInterface
    public interface StepListener {
        void onStep(int step, int stepsPerEpoch, MnistModel.StepResult result);
    }

    /** One epoch's training figures. */
    public record EpochResult(int steps, int examples, double meanLoss, double accuracy, long nanos) {
        public double seconds() {
            return nanos / 1e9;
        }

        public double stepsPerSecond() {
            return steps / seconds();
        }
    }

    /** Test figures: mean loss per example and accuracy. */
    public record TestResult(double loss, double accuracy, int correct, int count, long nanos) {}

    /** Number of batches in an epoch (the last one may be smaller). */
    public static int stepsPerEpoch(int examples, int batchSize) {
        return (examples + batchSize - 1) / batchSize;
    }

    /**
     * Trains on every example of the split once, in an order shuffled by {@code rng}, with
     * {@link MnistModel#trainLocal}.
     */
    public static EpochResult trainEpochLocal(MnistModel model, MnistSplit train, int batchSize, SplittableRandom rng,
            StepListener listener, LongSupplier nanoClock) {
        int n = train.size();
        int[] order = shuffled(n, rng);
        int steps = stepsPerEpoch(n, batchSize);
        double lossSum = 0;
        long correct = 0;
        long start = nanoClock.getAsLong();
        for (int step = 0; step < steps; step++) {
            int from = step * batchSize;
            MnistSplit.Batch b = train.batch(order, from, Math.min(n, from + batchSize));
            MnistModel.StepResult r = model.trainLocal(b.images(), b.labels());
            lossSum += r.loss() * r.count();
            correct += r.correct();
            if (listener != null) {
                listener.onStep(step, steps, r);
            }
        }
        return new EpochResult(steps, n, lossSum / n, (double) correct / n, nanoClock.getAsLong() - start);
    }

    /** Local-head loss and accuracy over a whole split, without dropout. */
    public static TestResult evaluate(MnistModel model, MnistSplit split, int batchSize, LongSupplier nanoClock) {
        long start = nanoClock.getAsLong();
        double lossSum = 0;
        int correct = 0;
        for (int from = 0; from < split.size(); from += batchSize) {
            MnistSplit.Batch b = split.batch(from, Math.min(split.size(), from + batchSize));
            MnistModel.Evaluation e = model.evaluate(b.images(), b.labels());
            lossSum += e.loss() * e.count();
            correct += e.correct();
        }
        int n = split.size();
        return new TestResult(lossSum / n, (double) correct / n, correct, n, nanoClock.getAsLong() - start);
    }

    /** A Fisher–Yates permutation of 0..n-1. */
    public static int[] shuffled(int n, SplittableRandom rng) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
