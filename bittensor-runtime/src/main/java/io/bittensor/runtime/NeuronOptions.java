package io.bittensor.runtime;

import io.bittensor.config.ConfigException;
import io.bittensor.config.HostPort;
import io.bittensor.config.NeuronConfig;
import io.bittensor.crypto.KeyFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * The neuron flags of the original ({@code --chain_endpoint --axon_port --metagraph_port
 * --metagraph_size --bootstrap --neuron_key --remote_ip --model_path --datapath}) plus
 * {@code --logdir --epochs --batch_size --learning_rate}, as a picocli mixin:
 *
 * <pre>{@code
 * @Command(name = "my-neuron") class Main implements Callable<Integer> {
 *     @Mixin NeuronOptions neuron;
 *     public Integer call() { NeuronConfig config = neuron.toConfig(); ... }
 *     public static void main(String[] a) {
 *         System.exit(NeuronOptions.withErrorHandler(new CommandLine(new Main())).execute(a));
 *     }
 * }
 * }</pre>
 *
 * <p>Every bad value is rejected while parsing, as one line naming the flag, with exit code 2 when
 * the command line was set up with {@link #withErrorHandler}.
 */
public final class NeuronOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--chain_endpoint", paramLabel = "URL",
            description = "Reserved for a chain-backed metagraph; accepted and ignored (as in the original).")
    String chainEndpoint;

    @Option(names = "--axon_port", paramLabel = "PORT", converter = PortConverter.class,
            description = "Axon (Forward/Backward) port; 0 = any free port. Default: " + NeuronConfig.DEFAULT_AXON_PORT)
    Integer axonPort;

    @Option(names = "--metagraph_port", paramLabel = "PORT", converter = PortConverter.class,
            description = "Metagraph (gossip) port; 0 = any free port. Default: " + NeuronConfig.DEFAULT_METAGRAPH_PORT)
    Integer metagraphPort;

    @Option(names = "--metagraph_size", paramLabel = "N", converter = PositiveIntConverter.class,
            description = "Most synapses the metagraph keeps. Default: " + NeuronConfig.DEFAULT_METAGRAPH_SIZE)
    Integer metagraphSize;

    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", split = ",", converter = HostPortConverter.class,
            description = "Metagraph peer(s) to join, comma-separated. Default: none")
    List<HostPort> bootstrap;

    @Option(names = "--neuron_key", paramLabel = "FILE", converter = KeyFileConverter.class,
            description = "The neuron's key file. Default: <datapath>/" + NeuronConfig.DEFAULT_KEY_FILE + ", created once")
    Path neuronKey;

    @Option(names = "--remote_ip", paramLabel = "ADDRESS", converter = RemoteIpConverter.class,
            description = "Address advertised to peers. Default: this machine's address, found offline")
    String remoteIp;

    @Option(names = "--model_path", paramLabel = "FILE", converter = ModelPathConverter.class,
            description = "Checkpoint to resume from (if it exists) and to save the best model to.")
    Path modelPath;

    @Option(names = "--logdir", paramLabel = "DIR",
            description = "Where metrics (CSV) and plots (PNG) go. Default: " + "logs/")
    Path logdir;

    @Option(names = "--datapath", paramLabel = "DIR",
            description = "Where data sets, keys and models live. Default: data/")
    Path datapath;

    @Option(names = "--epochs", paramLabel = "N", converter = PositiveIntConverter.class,
            description = "Training epochs. Default: " + NeuronConfig.DEFAULT_EPOCHS)
    Integer epochs;

    @Option(names = "--batch_size", paramLabel = "N", converter = PositiveIntConverter.class,
            description = "Training batch size. Default: " + NeuronConfig.DEFAULT_BATCH_SIZE)
    Integer batchSize;

    @Option(names = "--learning_rate", paramLabel = "RATE", converter = RateConverter.class,
            description = "Optimizer learning rate. Default: the neuron's own")
    Double learningRate;

    @Option(names = "--metrics_port", paramLabel = "PORT", converter = PortConverter.class,
            description = "Serve Prometheus metrics at http://<host>:PORT/metrics; 0 = any free port. Default: off")
    Integer metricsPort;

    /**
     * The config from the flags given, defaults for the rest.
     *
     * @throws ParameterException (exit code 2 under {@link #withErrorHandler}) for a value that
     *                            only fails in combination
     */
    public NeuronConfig toConfig() {
        NeuronConfig.Builder b = NeuronConfig.builder();
        if (chainEndpoint != null) {
            b.chainEndpoint(chainEndpoint);
        }
        if (axonPort != null) {
            b.axonPort(axonPort);
        }
        if (metagraphPort != null) {
            b.metagraphPort(metagraphPort);
        }
        if (metagraphSize != null) {
            b.metagraphSize(metagraphSize);
        }
        if (bootstrap != null) {
            b.bootstrap(bootstrap);
        }
        b.neuronKey(neuronKey).remoteIp(remoteIp).modelPath(modelPath).learningRate(learningRate)
                .metricsPort(metricsPort);
        if (logdir != null) {
            b.logdir(logdir);
        }
        if (datapath != null) {
            b.datapath(datapath);
        }
        if (epochs != null) {
            b.epochs(epochs);
        }
        if (batchSize != null) {
            b.batchSize(batchSize);
        }
        try {
            return b.build();
        } catch (ConfigException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e, null, null);
        }
    }

    /**
     * Makes a bad command line print one line ({@code <command>: <problem> (see --help)}) on
     * stderr and exit with code 2, instead of picocli's message plus the whole usage text.
     */
    public static CommandLine withErrorHandler(CommandLine cmd) {
        cmd.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println(c.getCommandName() + ": " + oneLine(ex.getMessage()) + " (see --help)");
            c.getErr().flush();
            return c.getCommandSpec().exitCodeOnInvalidInput();
        });
        return cmd;
    }

    private static String oneLine(String s) {
        return s == null ? "invalid command line" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    // Converters: each rejects a bad value with a message picocli prefixes with the flag.

    static final class PortConverter implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int port = parseInt(value, "a port number");
            try {
                NeuronConfig.checkPort("port", port);
            } catch (ConfigException e) {
                throw new TypeConversionException(port + " is out of range 0..65535 (0 = any free port)");
            }
            return port;
        }
    }

    static final class PositiveIntConverter implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int n = parseInt(value, "a whole number");
            if (n < 1) {
                throw new TypeConversionException("must be at least 1, got " + n);
            }
            return n;
        }
    }

    static final class RateConverter implements ITypeConverter<Double> {
        @Override
        public Double convert(String value) {
            double r;
            try {
                r = Double.parseDouble(value.trim());
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + value + "' is not a number");
            }
            try {
                NeuronConfig.checkRate(r);
            } catch (ConfigException e) {
                throw new TypeConversionException("must be a positive number, got " + value);
            }
            return r;
        }
    }

    static final class HostPortConverter implements ITypeConverter<HostPort> {
        @Override
        public HostPort convert(String value) {
            try {
                return HostPort.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage() + " (expected host:port, e.g. 10.0.0.5:8092)");
            }
        }
    }

    static final class RemoteIpConverter implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String v = value.trim();
            if (!NeuronConfig.isHostName(v)) {
                throw new TypeConversionException("'" + value + "' is neither an IP address nor a host name");
            }
            return v;
        }
    }

    /** The key file must exist and hold a valid key: a bad key is a flag error, not a crash later. */
    static final class KeyFileConverter implements ITypeConverter<Path> {
        @Override
        public Path convert(String value) {
            Path p = Path.of(value);
            if (!Files.exists(p)) {
                throw new TypeConversionException("key file " + value + " does not exist"
                        + " (leave --neuron_key out to create a key in the datapath)");
            }
            if (!Files.isRegularFile(p)) {
                throw new TypeConversionException("key file " + value + " is not a regular file");
            }
            try {
                KeyFiles.load(p);
            } catch (IOException | RuntimeException e) {
                throw new TypeConversionException("cannot use key file " + value + ": " + e.getMessage());
            }
            return p;
        }
    }

    static final class ModelPathConverter implements ITypeConverter<Path> {
        @Override
        public Path convert(String value) {
            Path p = Path.of(value);
            if (Files.exists(p) && (!Files.isRegularFile(p) || !Files.isReadable(p))) {
                throw new TypeConversionException("model file " + value + " exists but is not a readable file");
            }
            return p;
        }
    }

    static int parseInt(String value, String what) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not " + what);
        }
    }
}
