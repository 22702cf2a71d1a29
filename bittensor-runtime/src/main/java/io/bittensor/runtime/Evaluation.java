package io.bittensor.runtime;

/**
 * A batch's mean loss and number of correct predictions, without dropout or training.
 *
 * @param count what the loss and {@code correct} are over: the batch's examples for a classifier,
 *              or e.g. its masked tokens for a masked-language model
 */
public record Evaluation(double loss, int correct, int count) {}
