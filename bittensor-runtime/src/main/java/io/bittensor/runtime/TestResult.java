package io.bittensor.runtime;

import java.util.Locale;

/**
 * A whole split's test figures: mean loss per scored item (example, or e.g. masked token),
 * accuracy, the counts behind it, and how long it took.
 */
public record TestResult(double loss, double accuracy, int correct, int count, long nanos) {
    public double seconds() {
        return nanos / 1e9;
    }

    /** The classifier's wording of the epoch line: {@code test loss 0.0712, accuracy 97.85 % (9785/10000)}. */
    public String describe() {
        return String.format(Locale.ROOT, "test loss %.4f, accuracy %.2f %% (%d/%d)", loss, 100 * accuracy, correct,
                count);
    }
}
