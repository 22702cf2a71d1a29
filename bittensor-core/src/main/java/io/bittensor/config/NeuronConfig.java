package io.bittensor.config;

import com.google.common.net.InetAddresses;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * Everything a neuron process is configured with, validated once. Defaults follow the original
 * (PROTOCOL.md): axon 8091, metagraph 8092, metagraph size 10000, no bootstrap peer, data in
 * {@code data/}. Build with {@link #builder()}; from flags with {@code io.bittensor.runtime.NeuronOptions}. Problems are
 * {@link ConfigException}s naming the flag.
 *
 * @param chainEndpoint  reserved for a chain-backed metagraph; accepted and unused (as in the original)
 * @param axonPort       port of the Axon (Forward/Backward) server; 0 = any free port
 * @param metagraphPort  port of the Metagraph (gossip) server; 0 = any free port
 * @param metagraphSize  most synapses the metagraph keeps
 * @param bootstrap      metagraph peers to gossip with first ({@code host:port} each)
 * @param neuronKey      the neuron's key file; absent = {@code <datapath>/neuron.key}, created once
 * @param remoteIp       the address advertised to peers; default found offline ({@link RemoteIp})
 * @param modelPath      checkpoint to resume from and save the best model to; absent = the neuron's choice in datapath
 * @param logdir         where metrics (CSV) and plots (PNG) go
 * @param datapath       where data sets, keys and models live
 * @param epochs         training epochs
 * @param batchSize      training batch size
 * @param learningRate   optimizer rate; absent = the neuron's own default
 * @param metricsPort    port of the Prometheus {@code /metrics} endpoint; absent = no endpoint, 0 = any free port
 */
public record NeuronConfig(
        String chainEndpoint,
        int axonPort,
        int metagraphPort,
        int metagraphSize,
        List<HostPort> bootstrap,
        Optional<Path> neuronKey,
        String remoteIp,
        Optional<Path> modelPath,
        Path logdir,
        Path datapath,
        int epochs,
        int batchSize,
        OptionalDouble learningRate,
        OptionalInt metricsPort) {

    public static final String DEFAULT_CHAIN_ENDPOINT = "";
    public static final int DEFAULT_AXON_PORT = 8091;
    public static final int DEFAULT_METAGRAPH_PORT = 8092;
    public static final int DEFAULT_METAGRAPH_SIZE = 10_000;
    public static final Path DEFAULT_DATAPATH = Path.of("data/");
    public static final Path DEFAULT_LOGDIR = Path.of("logs/");
    public static final int DEFAULT_EPOCHS = 10;
    public static final int DEFAULT_BATCH_SIZE = 64;
    /** Key file name inside datapath when --neuron_key is not given. */
    public static final String DEFAULT_KEY_FILE = "neuron.key";

    private static final Pattern HOST_LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    public NeuronConfig {
        Objects.requireNonNull(chainEndpoint, "chainEndpoint");
        bootstrap = List.copyOf(bootstrap);
        Objects.requireNonNull(neuronKey, "neuronKey");
        Objects.requireNonNull(modelPath, "modelPath");
        Objects.requireNonNull(logdir, "logdir");
        Objects.requireNonNull(datapath, "datapath");
        Objects.requireNonNull(learningRate, "learningRate");
        Objects.requireNonNull(metricsPort, "metricsPort");
        checkPort("--axon_port", axonPort);
        checkPort("--metagraph_port", metagraphPort);
        if (metricsPort.isPresent()) {
            checkPort("--metrics_port", metricsPort.getAsInt());
        }
        checkPositive("--metagraph_size", metagraphSize);
        checkPositive("--epochs", epochs);
        checkPositive("--batch_size", batchSize);
        if (learningRate.isPresent()) {
            checkRate(learningRate.getAsDouble());
        }
        checkRemoteIp(remoteIp);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values. */
    public Builder toBuilder() {
        return new Builder().chainEndpoint(chainEndpoint).axonPort(axonPort).metagraphPort(metagraphPort)
                .metagraphSize(metagraphSize).bootstrap(bootstrap).neuronKey(neuronKey.orElse(null)).remoteIp(remoteIp)
                .modelPath(modelPath.orElse(null)).logdir(logdir).datapath(datapath).epochs(epochs)
                .batchSize(batchSize).learningRate(learningRate.isPresent() ? learningRate.getAsDouble() : null)
                .metricsPort(metricsPort.isPresent() ? metricsPort.getAsInt() : null);
    }

    /** The key file in use: --neuron_key, or {@code <datapath>/neuron.key}. */
    public Path neuronKeyFile() {
        return neuronKey.orElse(datapath.resolve(DEFAULT_KEY_FILE));
    }

    /** The learning rate, or the given default when none was configured. */
    public double learningRateOr(double fallback) {
        return learningRate.orElse(fallback);
    }

    // Rules shared with the flag converters (bittensor-runtime's NeuronOptions), so flags and code
    // reject the same values.

    /** @throws ConfigException naming {@code option} unless {@code port} is in 0..65535 */
    public static void checkPort(String option, int port) {
        if (port < 0 || port > 65535) {
            throw new ConfigException(option, port + " is out of range 0..65535 (0 = any free port)");
        }
    }

    static void checkPositive(String option, long value) {
        if (value < 1) {
            throw new ConfigException(option, "must be at least 1, got " + value);
        }
    }

    /** @throws ConfigException unless {@code rate} is a finite positive number */
    public static void checkRate(double rate) {
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new ConfigException("--learning_rate", "must be a positive number, got " + rate);
        }
    }

    static void checkRemoteIp(String ip) {
        if (ip == null || !isHostName(ip)) {
            throw new ConfigException("--remote_ip", "'" + ip + "' is neither an IP address nor a host name");
        }
    }

    /** An IP literal or an RFC 1123 host name. */
    public static boolean isHostName(String host) {
        if (host == null || host.isEmpty() || host.length() > 253) {
            return false;
        }
        if (InetAddresses.isInetAddress(host)) {
            return true;
        }
        String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        if (h.isEmpty() || h.chars().allMatch(c -> c == '.' || Character.isDigit(c))) {
            return false; // digits and dots that are no valid IPv4 literal
        }
        for (String label : h.split("\\.", -1)) {
            if (!HOST_LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    /** Builder with every default preset; {@link #build()} validates. */
    public static final class Builder {
        private String chainEndpoint = DEFAULT_CHAIN_ENDPOINT;
        private int axonPort = DEFAULT_AXON_PORT;
        private int metagraphPort = DEFAULT_METAGRAPH_PORT;
        private int metagraphSize = DEFAULT_METAGRAPH_SIZE;
        private List<HostPort> bootstrap = List.of();
        private Path neuronKey;
        private String remoteIp;
        private Path modelPath;
        private Path logdir = DEFAULT_LOGDIR;
        private Path datapath = DEFAULT_DATAPATH;
        private int epochs = DEFAULT_EPOCHS;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private Double learningRate;
        private Integer metricsPort;

        private Builder() {}

        public Builder chainEndpoint(String v) {
            this.chainEndpoint = Objects.requireNonNull(v);
            return this;
        }

        public Builder axonPort(int v) {
            this.axonPort = v;
            return this;
        }

        public Builder metagraphPort(int v) {
            this.metagraphPort = v;
            return this;
        }

        public Builder metagraphSize(int v) {
            this.metagraphSize = v;
            return this;
        }

        public Builder bootstrap(List<HostPort> v) {
            this.bootstrap = List.copyOf(v);
            return this;
        }

        /** A key file; null = {@code <datapath>/neuron.key}. */
        public Builder neuronKey(Path v) {
            this.neuronKey = v;
            return this;
        }

        /** null = detect offline at {@link #build()}. */
        public Builder remoteIp(String v) {
            this.remoteIp = v;
            return this;
        }

        public Builder modelPath(Path v) {
            this.modelPath = v;
            return this;
        }

        public Builder logdir(Path v) {
            this.logdir = Objects.requireNonNull(v);
            return this;
        }

        public Builder datapath(Path v) {
            this.datapath = Objects.requireNonNull(v);
            return this;
        }

        public Builder epochs(int v) {
            this.epochs = v;
            return this;
        }

        public Builder batchSize(int v) {
            this.batchSize = v;
            return this;
        }

        /** null = the neuron's own default. */
        public Builder learningRate(Double v) {
            this.learningRate = v;
            return this;
        }

        /** Prometheus endpoint port; null = none (the default), 0 = any free port. */
        public Builder metricsPort(Integer v) {
            this.metricsPort = v;
            return this;
        }

        /** @throws ConfigException naming the first bad option */
        public NeuronConfig build() {
            return new NeuronConfig(chainEndpoint, axonPort, metagraphPort, metagraphSize, bootstrap,
                    Optional.ofNullable(neuronKey), remoteIp != null ? remoteIp : RemoteIp.detect(),
                    Optional.ofNullable(modelPath), logdir, datapath, epochs, batchSize,
                    learningRate == null ? OptionalDouble.empty() : OptionalDouble.of(learningRate),
                    metricsPort == null ? OptionalInt.empty() : OptionalInt.of(metricsPort));
        }
    }
}
