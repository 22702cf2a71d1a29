package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.crypto.KeyFiles;
import io.bittensor.crypto.Keypair;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The networked main alone on loopback: trains (routing to itself), logs, plots, saves, resumes. */
class MnistNeuronMainIT {
    @TempDir
    Path tmp;

    @Test
    void trainsThroughItsOwnAxonSavesAndResumes() throws IOException {
        Path key = tmp.resolve("neuron.key");
        KeyFiles.save(Keypair.generate(), key);
        Path logs = tmp.resolve("logs");
        Path model = tmp.resolve("model.ckpt");
        String[] common = {"--datapath", MnistNeuronMainTest.DATA.toString(), "--neuron_key", key.toString(),
            "--logdir", logs.toString(), "--model_path", model.toString(), "--axon_port", "0", "--metagraph_port", "0",
            "--remote_ip", "127.0.0.1", "--train_limit", "256", "--test_limit", "100", "--batch_size", "32",
            "--seed", "5", "--log_interval", "4"};
        MnistNeuronMainTest.Run first = MnistNeuronMainTest.run(concat(common, "--epochs", "1"));
        assertEquals(0, first.code(), first.err());
        assertTrue(Files.exists(model));
        for (String png : List.of("loss.png", "accuracy.png", "network.png")) {
            assertTrue(Files.size(logs.resolve(png)) > 1000, png);
        }
        MnistNeuronMainTest.Run second = MnistNeuronMainTest.run(concat(common, "--epochs", "2"));
        assertEquals(0, second.code(), second.err());
        List<MetricsLog.Row> rows;
        try (MetricsLog log = MetricsLog.open(logs)) {
            rows = log.rows();
        }
        List<MetricsLog.Row> tests = rows.stream().filter(r -> r.phase() == MetricsLog.Phase.TEST).toList();
        assertEquals(List.of(1, 2), tests.stream().map(MetricsLog.Row::epoch).toList(), "resumed after epoch 1");
        MetricsLog.Row last = tests.get(1);
        // Alone, it routes every example to its own synapse, through its own Axon.
        assertEquals(1.0, last.remoteSuccessRate());
        assertTrue(last.requestsServed() >= 8, "served its own Forward and Backward calls: " + last);
    }

    @Test
    void aTakenPortIsOneLineAndExitCode1() throws IOException {
        Path key = tmp.resolve("neuron.key");
        KeyFiles.save(Keypair.generate(), key);
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(0));
            MnistNeuronMainTest.Run r = MnistNeuronMainTest.run("--datapath", MnistNeuronMainTest.DATA.toString(),
                    "--neuron_key", key.toString(), "--logdir", tmp.resolve("logs").toString(), "--model_path",
                    tmp.resolve("m.ckpt").toString(), "--axon_port", Integer.toString(taken.getLocalPort()),
                    "--metagraph_port", "0", "--train_limit", "64");
            assertEquals(1, r.code(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().contains(Integer.toString(taken.getLocalPort())), r.err());
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
