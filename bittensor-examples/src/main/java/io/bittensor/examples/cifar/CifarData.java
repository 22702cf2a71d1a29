package io.bittensor.examples.cifar;

/** A training split and a test split with the same classes. */
public record CifarData(CifarSplit train, CifarSplit test) {
    public CifarData {
        if (!train.classes().equals(test.classes())) {
            throw new IllegalArgumentException("train and test have different classes");
        }
    }
}
