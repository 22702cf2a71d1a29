package io.bittensor.examples.bert;

import java.util.List;

/**
 * The yardstick for the masked-language model: predict every masked token from its corpus
 * frequency alone, ignoring the context. Counts come from the training documents, add-one
 * smoothed over the vocabulary; the loss is the mean negative log-probability (nats) of the true
 * tokens at the masked positions.
 */
public final class UnigramBaseline {
    private final double[] logProb;
    private final int mostFrequent;

    public UnigramBaseline(List<int[]> documents, int vocabSize) {
        long[] counts = new long[vocabSize];
        long total = 0;
        for (int[] d : documents) {
            for (int id : d) {
                counts[id]++;
                total++;
            }
        }
        logProb = new double[vocabSize];
        double denominator = Math.log(total + (double) vocabSize);
        int best = 0;
        for (int i = 0; i < vocabSize; i++) {
            logProb[i] = Math.log(counts[i] + 1.0) - denominator;
            if (counts[i] > counts[best]) {
                best = i;
            }
        }
        mostFrequent = best;
    }

    /** Sum of negative log-probabilities of {@code labels} (nats). */
    public double loss(int[] labels) {
        double sum = 0;
        for (int id : labels) {
            sum -= logProb[id];
        }
        return sum;
    }

    /** How many labels equal the most frequent token (the unigram model's top-1 guess). */
    public int correct(int[] labels) {
        int n = 0;
        for (int id : labels) {
            if (id == mostFrequent) {
                n++;
            }
        }
        return n;
    }
}
