package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The networked main's one-line errors (nothing is bound: they all fail before the session starts). */
class MnistNeuronMainTest {
    static final Path DATA = Path.of("target", "test-data");

    @TempDir
    Path tmp;

    record Run(int code, String err) {}

    static Run run(String... args) {
        CommandLine cmd = MnistNeuronMain.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute(args), err.toString());
    }

    @Test
    void badFlagsAreOneLineAndExitCode2() {
        for (String[] args : new String[][] {{"--topk", "0"}, {"--axon_port", "70000"}, {"--bootstrap", "nohost"},
                {"--neuron_key", "/nonexistent/key"}}) {
            Run r = run(args);
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().contains(args[0]), r.err());
        }
    }

    @Test
    void aCorruptCheckpointIsOneLineAndExitCode1() throws IOException {
        Path model = Files.write(tmp.resolve("model.ckpt"), "BTCKPT01 but then garbage that no hash matches".getBytes());
        Run r = run("--datapath", DATA.toString(), "--neuron_key", key().toString(), "--logdir",
                tmp.resolve("logs").toString(), "--model_path", model.toString(), "--train_limit", "64",
                "--axon_port", "0", "--metagraph_port", "0");
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("corrupt") && r.err().contains(model.toString()), r.err());
    }

    private Path key() throws IOException {
        Path k = tmp.resolve("neuron.key");
        io.bittensor.crypto.KeyFiles.save(io.bittensor.crypto.Keypair.generate(), k);
        return k;
    }
}
