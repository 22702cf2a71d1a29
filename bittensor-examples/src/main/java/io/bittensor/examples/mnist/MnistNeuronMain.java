package io.bittensor.examples.mnist;

import io.bittensor.config.NeuronConfig;
import io.bittensor.runtime.NetworkOptions;
import io.bittensor.runtime.NeuronCommand;
import io.bittensor.runtime.NeuronOptions;
import io.bittensor.runtime.RunOptions;
import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The MNIST neuron on the network, on the shared runtime: joins the metagraph ({@code --bootstrap}),
 * serves a snapshot of its model on the Axon, and trains with the network's answer as context,
 * sending gradients back to the peers it called. Each epoch it evaluates on the 10k test images,
 * appends metrics to {@code <logdir>/metrics.csv}, redraws the plots, and saves and serves the best
 * model. Ctrl-C (SIGINT/SIGTERM) ends the current step and closes everything.
 */
@Command(name = "mnist-neuron", mixinStandardHelpOptions = true,
        description = "Runs the MNIST neuron: trains on real MNIST with its peers as context, and serves its model.")
public final class MnistNeuronMain implements Callable<Integer> {
    @Mixin
    NeuronOptions neuron;

    @Mixin
    RunOptions run;

    @Mixin
    NetworkOptions network;

    public static void main(String[] args) {
        NeuronCommand.main(new MnistNeuronMain(), args);
    }

    /** One-line errors: bad flags exit 2; data, checkpoint, key and port problems exit 1. */
    static CommandLine commandLine() {
        return NeuronCommand.commandLine(new MnistNeuronMain());
    }

    @Override
    public Integer call() throws IOException {
        NeuronConfig config = neuron.toConfig();
        return NeuronCommand.runOnNetwork(MnistModel.spec(), config, run.limit(MnistData.load(config.datapath())),
                run.settings(network.topK()));
    }
}
