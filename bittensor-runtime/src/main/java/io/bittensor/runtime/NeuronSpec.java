package io.bittensor.runtime;

import java.util.Objects;

/**
 * What the runtime needs to know about a kind of neuron besides its data: its name (from which
 * its synapse key is derived; log lines), its default learning rate and checkpoint file, and how to build its
 * model.
 *
 * @param name                the neuron's short name, e.g. {@code mnist}
 * @param defaultLearningRate used when {@code --learning_rate} is not given
 * @param defaultModelFile    checkpoint file in the datapath when {@code --model_path} is not given
 * @param factory             builds a fresh model
 */
public record NeuronSpec<M extends NeuronModel>(String name, double defaultLearningRate, String defaultModelFile,
        ModelFactory<M> factory) {
    public NeuronSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(defaultModelFile, "defaultModelFile");
        Objects.requireNonNull(factory, "factory");
        if (!(defaultLearningRate > 0)) {
            throw new IllegalArgumentException("defaultLearningRate must be positive, got " + defaultLearningRate);
        }
    }

    /** Builds a model for a run. */
    @FunctionalInterface
    public interface ModelFactory<M extends NeuronModel> {
        /**
         * @param seed           seeds initialisation and dropout
         * @param learningRate   the starting learning rate
         * @param plannedSteps   optimizer steps the run will take (for a decaying schedule)
         */
        M create(long seed, double learningRate, int plannedSteps);
    }
}
