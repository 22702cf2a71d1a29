package io.bittensor.runtime;

/** A batch's mean loss and number of correct predictions, without dropout or training. */
public record Evaluation(double loss, int correct, int count) {}
