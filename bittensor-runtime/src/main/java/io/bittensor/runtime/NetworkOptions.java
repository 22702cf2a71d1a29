package io.bittensor.runtime;

import picocli.CommandLine.Option;

/** The flags of a neuron on the network beyond {@link NeuronOptions}, as a picocli mixin: {@code --topk}. */
public final class NetworkOptions {
    @Option(names = "--topk", paramLabel = "K", defaultValue = "10", converter = NeuronOptions.PositiveIntConverter.class,
            description = "Peers each example is routed to, at most. Default: ${DEFAULT-VALUE}")
    int topK;

    public int topK() {
        return topK;
    }
}
