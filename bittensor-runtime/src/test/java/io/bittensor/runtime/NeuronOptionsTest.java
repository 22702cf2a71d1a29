package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.config.HostPort;
import io.bittensor.config.NeuronConfig;
import io.bittensor.crypto.KeyFiles;
import io.bittensor.crypto.Keypair;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class NeuronOptionsTest {
    @Command(name = "neuron")
    static final class Main implements Callable<Integer> {
        @Mixin
        NeuronOptions options;
        NeuronConfig config;

        @Override
        public Integer call() {
            config = options.toConfig();
            return 0;
        }
    }

    private record Run(int exitCode, String err, NeuronConfig config) {}

    private static Run run(String... args) {
        Main main = new Main();
        StringWriter err = new StringWriter();
        CommandLine cmd = NeuronOptions.withErrorHandler(new CommandLine(main));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, err.toString(), main.config);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
        "--axon_port      | 70000",
        "--axon_port      | -1",
        "--axon_port      | http",
        "--metagraph_port | 65536",
        "--metrics_port   | 65536",
        "--metrics_port   | off",
        "--metagraph_size | 0",
        "--metagraph_size | many",
        "--epochs         | 0",
        "--batch_size     | -64",
        "--learning_rate  | 0",
        "--learning_rate  | NaN",
        "--learning_rate  | Infinity",
        "--learning_rate  | fast",
        "--bootstrap      | localhost",
        "--bootstrap      | localhost:99999",
        "--bootstrap      | :8092",
        "--bootstrap      | bad host:8092",
        "--bootstrap      | 10.0.0.1:8092,nope",
        "--remote_ip      | not an address!",
        "--remote_ip      | 300.1.1.1",
        "--neuron_key     | /no/such/key/file",
    })
    void badValueIsOneLineAndExitCode2(String flag, String value) {
        Run r = run(flag, value);
        assertEquals(2, r.exitCode(), r.err());
        assertOneLineNaming(r.err(), flag);
    }

    @Test
    void keyFileThatIsADirectoryIsRejected(@TempDir Path dir) {
        Run r = run("--neuron_key", dir.toString());
        assertEquals(2, r.exitCode());
        assertOneLineNaming(r.err(), "--neuron_key");
        assertTrue(r.err().contains("not a regular file"), r.err());
    }

    @Test
    void keyFileThatHoldsNoKeyIsRejected(@TempDir Path dir) throws IOException {
        Path key = Files.writeString(dir.resolve("k.key"), "format=bittensor-key-v1\nseed=00\n");
        Run r = run("--neuron_key", key.toString());
        assertEquals(2, r.exitCode());
        assertOneLineNaming(r.err(), "--neuron_key");
        assertTrue(r.err().contains(key.toString()), r.err());
    }

    @Test
    void modelPathThatIsADirectoryIsRejected(@TempDir Path dir) {
        Run r = run("--model_path", dir.toString());
        assertEquals(2, r.exitCode());
        assertOneLineNaming(r.err(), "--model_path");
    }

    @Test
    void unknownFlagIsOneLineAndExitCode2() {
        Run r = run("--axon-port", "8091");
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    @Test
    void noFlagsGiveTheDefaults() {
        Run r = run();
        assertEquals(0, r.exitCode(), r.err());
        NeuronConfig c = r.config();
        assertEquals(8091, c.axonPort());
        assertEquals(8092, c.metagraphPort());
        assertEquals(10_000, c.metagraphSize());
        assertEquals(List.of(), c.bootstrap());
        assertEquals(Path.of("data/"), c.datapath());
        assertEquals(Path.of("data/").resolve("neuron.key"), c.neuronKeyFile());
        assertTrue(c.learningRate().isEmpty());
        assertTrue(c.modelPath().isEmpty());
        assertTrue(c.metricsPort().isEmpty(), "no metrics endpoint unless asked");
        assertNotNull(c.remoteIp());
    }

    @Test
    void everyFlagReachesTheConfig(@TempDir Path dir) throws IOException {
        Path key = dir.resolve("k.key");
        KeyFiles.save(Keypair.generate(), key);
        Run r = run("--chain_endpoint", "ws://chain:9944", "--axon_port", "0", "--metagraph_port", "9000",
                "--metagraph_size", "5", "--bootstrap", "10.0.0.2:8092,[::1]:9001", "--neuron_key", key.toString(),
                "--remote_ip", "192.168.1.7", "--model_path", dir.resolve("m.ckpt").toString(),
                "--logdir", dir.resolve("logs").toString(), "--datapath", dir.toString(), "--epochs", "3",
                "--batch_size", "32", "--learning_rate", "0.01", "--metrics_port", "9100");
        assertEquals(0, r.exitCode(), r.err());
        NeuronConfig c = r.config();
        assertEquals("ws://chain:9944", c.chainEndpoint());
        assertEquals(0, c.axonPort());
        assertEquals(9000, c.metagraphPort());
        assertEquals(5, c.metagraphSize());
        assertEquals(List.of(new HostPort("10.0.0.2", 8092), new HostPort("::1", 9001)), c.bootstrap());
        assertEquals(key, c.neuronKeyFile());
        assertEquals("192.168.1.7", c.remoteIp());
        assertEquals(dir.resolve("m.ckpt"), c.modelPath().orElseThrow());
        assertEquals(dir.resolve("logs"), c.logdir());
        assertEquals(dir, c.datapath());
        assertEquals(3, c.epochs());
        assertEquals(32, c.batchSize());
        assertEquals(0.01, c.learningRate().orElseThrow());
        assertEquals(9100, c.metricsPort().orElseThrow());
    }

    private static void assertOneLineNaming(String err, String flag) {
        assertEquals(1, err.lines().count(), "expected one line, got: " + err);
        assertTrue(err.contains(flag), "the line should name " + flag + ": " + err);
    }
}
