package io.bittensor.runtime;

import java.util.SplittableRandom;

/** Epoch arithmetic and evaluation, shared by the trainer and benchmarks. */
public final class Epochs {
    private Epochs() {}

    /** Number of batches in an epoch (the last one may be smaller). */
    public static int stepsPerEpoch(int examples, int batchSize) {
        return (examples + batchSize - 1) / batchSize;
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

    /**
     * The model's local-head loss and accuracy over a whole split, in batches, without dropout:
     * each batch's mean loss weighed by what it scored ({@link Evaluation#count()}: examples, or
     * e.g. masked tokens), so the result is the mean per scored item.
     */
    public static TestResult evaluate(NeuronModel model, DataSplit split, int batchSize) {
        long start = System.nanoTime();
        double lossSum = 0;
        int correct = 0;
        int scored = 0;
        int n = split.size();
        for (int from = 0; from < n; from += batchSize) {
            Evaluation e = model.evaluate(split.batch(from, Math.min(n, from + batchSize)));
            lossSum += e.loss() * e.count();
            correct += e.correct();
            scored += e.count();
        }
        return new TestResult(scored == 0 ? Double.NaN : lossSum / scored,
                scored == 0 ? Double.NaN : (double) correct / scored, correct, scored, System.nanoTime() - start);
    }
}
