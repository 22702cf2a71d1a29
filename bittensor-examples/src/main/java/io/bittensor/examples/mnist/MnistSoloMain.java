package io.bittensor.examples.mnist;

import io.bittensor.config.NeuronConfig;
import io.bittensor.runtime.NeuronCommand;
import io.bittensor.runtime.NeuronOptions;
import io.bittensor.runtime.RunOptions;
import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * Trains the MNIST model alone (no network) on the shared runtime: each epoch trains on the 60k
 * images, evaluates on the 10k test images, appends metrics to {@code <logdir>/metrics.csv},
 * redraws the plots, and saves the best model so far to {@code --model_path} (resuming from it at
 * start). Takes the neuron flags; the network ones are accepted and unused here.
 */
@Command(name = "mnist-solo", mixinStandardHelpOptions = true,
        description = "Trains the MNIST neuron's model alone on real MNIST.")
public final class MnistSoloMain implements Callable<Integer> {
    @Mixin
    NeuronOptions neuron;

    @Mixin
    RunOptions run;

    public static void main(String[] args) {
        NeuronCommand.main(new MnistSoloMain(), args);
    }

    /** The command line with one-line errors: bad flags exit 2, data/checkpoint problems exit 1. */
    static CommandLine commandLine() {
        return NeuronCommand.commandLine(new MnistSoloMain());
    }

    @Override
    public Integer call() throws IOException {
        NeuronConfig config = neuron.toConfig();
        return NeuronCommand.runAlone(MnistModel.spec(), config, run.limit(MnistData.load(config.datapath())),
                run.settings());
    }
}
