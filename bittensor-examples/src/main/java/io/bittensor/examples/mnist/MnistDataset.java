package io.bittensor.examples.mnist;

import io.bittensor.runtime.Dataset;

/** The MNIST training (60,000) and test (10,000) splits. */
public record MnistDataset(MnistSplit train, MnistSplit test) implements Dataset {}
