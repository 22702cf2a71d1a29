package io.bittensor.examples.cifar;

import io.bittensor.config.NeuronConfig;
import io.bittensor.runtime.NetworkOptions;
import io.bittensor.runtime.NeuronCommand;
import io.bittensor.runtime.NeuronOptions;
import io.bittensor.runtime.NeuronTrainer;
import io.bittensor.runtime.RunOptions;
import java.io.IOException;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The CIFAR-10 neuron on the network, on the shared runtime: joins the metagraph
 * ({@code --bootstrap}), serves a snapshot of its DPN on the Axon (IMAGE {@code [3, 32, 32]}), and
 * trains with the network's answer as context, sending gradients back to the peers it called.
 * Each epoch it evaluates on the test split, appends metrics, redraws the plots, and saves and
 * serves the best model. Ctrl-C (SIGINT/SIGTERM) ends the current step and closes everything.
 */
@Command(name = "cifar-neuron", mixinStandardHelpOptions = true,
        description = "Runs the CIFAR-10 neuron: trains a DPN on CIFAR-10 (or your image folders) with its peers as context, and serves it.")
public final class CifarNeuronMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CifarNeuronMain.class);

    @Mixin
    NeuronOptions neuron;

    @Mixin
    RunOptions run;

    @Mixin
    NetworkOptions network;

    @Spec
    CommandSpec spec;

    @Option(names = "--dataset", paramLabel = "PATH",
            description = "Image folders {train,test}/<class>/*.jpg|png (a folder or a .tar.gz), or the binary release"
                    + " cifar-10-binary.tar.gz. Default: the binary release in --datapath, downloaded there first if missing")
    String dataset;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "mini", converter = PresetConverter.class,
            description = "Model size: mini (trains on 2 CPU cores) or dpn26 (the original's DPN-26). Default: ${DEFAULT-VALUE}")
    DpnConfig preset;

    /**
     * ND4J's native limit and the process's RSS cap when not given: the DPN's training step needs
     * more than the 512 MiB / 1.25 GiB of other neurons.
     */
    static final long NATIVE_BUDGET = 3L << 30;
    static final long PROCESS_BUDGET = 6L << 30;

    public static void main(String[] args) {
        NeuronCommand.main(new CifarNeuronMain(), args, NATIVE_BUDGET, PROCESS_BUDGET);
    }

    /**
     * One-line errors: bad flags and data problems (a missing or corrupt archive, a folder with no
     * images or with train and test naming different classes, an image that is not 32×32, a failed
     * download) exit 2; checkpoint, key and port problems exit 1.
     */
    static CommandLine commandLine() {
        return NeuronCommand.commandLine(new CifarNeuronMain());
    }

    @Override
    public Integer call() throws IOException {
        NeuronConfig config = neuron.toConfig();
        NeuronTrainer.Settings settings = run.settings(network.topK());
        CifarData data;
        try {
            data = CifarDatasets.open(dataset, config.datapath());
        } catch (CifarDataException e) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    (dataset == null ? "CIFAR-10: " : "Invalid value for option '--dataset': ") + e.getMessage());
        }
        LOG.info("CIFAR data: {} training and {} test images, classes {}; model {}", data.train().size(),
                data.test().size(), data.train().classes(), preset);
        return NeuronCommand.runOnNetwork(DpnModel.spec(preset), config,
                run.limit(CifarDataSplit.of(data, settings.seed())), settings);
    }

    /** --preset by name; an unknown one is a flag error naming the choices. */
    static final class PresetConverter implements CommandLine.ITypeConverter<DpnConfig> {
        @Override
        public DpnConfig convert(String value) {
            try {
                return DpnConfig.preset(value.trim());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
