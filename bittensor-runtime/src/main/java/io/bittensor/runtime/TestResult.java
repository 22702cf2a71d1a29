package io.bittensor.runtime;

/** A whole split's test figures: mean loss per example, accuracy, and how long it took. */
public record TestResult(double loss, double accuracy, int correct, int count, long nanos) {
    public double seconds() {
        return nanos / 1e9;
    }
}
