package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** start_bittensor.sh maps the original's flags onto the neuron's (checked with --dry-run; nothing runs). */
class StartScriptTest {
    private static final Path SCRIPT = Path.of("..", "start_bittensor.sh").toAbsolutePath().normalize();

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("start", ".out");
        Path err = Files.createTempFile("start", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().remove("OMP_NUM_THREADS"); // the script's own default is what is checked
            Process p = pb.start();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "script finished");
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8).trim(),
                    Files.readString(err, StandardCharsets.UTF_8).trim());
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static final String JAVA = "OMP_NUM_THREADS=1 java -Xmx512m -Dorg.bytedeco.javacpp.maxbytes=512m"
            + " -Dbittensor.maxrss=1280m -cp bittensor-examples/target/bittensor-examples.jar "
            + "io.bittensor.examples.mnist.MnistNeuronMain";

    @Test
    void everyOriginalFlagMapsToTheNeuronFlag() throws Exception {
        Result r = run("--dry-run", "-n", "mnist", "-l", "logs/x", "-c", "ws://chain", "-a", "9000", "-m", "9001",
                "-s", "500", "-b", "10.0.0.1:8092", "-k", "my.key", "-r", "10.0.0.5", "-mp", "m.ckpt");
        assertEquals(0, r.code(), r.err());
        assertEquals(JAVA + " --logdir logs/x --chain_endpoint ws://chain --axon_port 9000 --metagraph_port 9001"
                + " --metagraph_size 500 --bootstrap 10.0.0.1:8092 --neuron_key my.key --remote_ip 10.0.0.5"
                + " --model_path m.ckpt", r.out());
    }

    @Test
    void originalPlaceholdersMeanDefaultsAndExtrasPassThrough() throws Exception {
        Result r = run("--dry-run", "-ax", "none", "-s", "0", "-b", "none", "-k", "none", "-p", "7000", "--",
                "--epochs", "1");
        assertEquals(0, r.code(), r.err());
        assertEquals(JAVA + " --epochs 1 --axon_port 7000", r.out());
        assertEquals(JAVA, run("--dry-run").out());
    }

    @Test
    void bertRunsTheTextNeuronUnderTheLargerBudget() throws Exception {
        Result r = run("--dry-run", "-n", "bert", "-a", "9200", "--", "--corpus", "texts/");
        assertEquals(0, r.code(), r.err());
        assertEquals("java -Xmx1g -Dorg.bytedeco.javacpp.maxbytes=3g -Dbittensor.maxrss=6g"
                + " -cp bittensor-examples/target/bittensor-examples.jar io.bittensor.examples.bert.BertNeuronMain"
                + " --axon_port 9200 --corpus texts/", r.out());
    }

    @Test
    void cifarRunsTheImageNeuronUnderItsLargerBudgetWithItsOwnFlags() throws Exception {
        Result r = run("--dry-run", "-n", "cifar", "-a", "9300", "-b", "10.0.0.1:8092", "--", "--dataset",
                "imgs.tar.gz", "--preset", "dpn26");
        assertEquals(0, r.code(), r.err());
        assertEquals("java -Xmx1g -Dorg.bytedeco.javacpp.maxbytes=3g -Dbittensor.maxrss=6g"
                + " -cp bittensor-examples/target/bittensor-examples.jar io.bittensor.examples.cifar.CifarNeuronMain"
                + " --axon_port 9300 --bootstrap 10.0.0.1:8092 --dataset imgs.tar.gz --preset dpn26", r.out());
    }

    @Test
    void badOptionsAreOneLineAndExitCode2() throws Exception {
        for (String[] args : new String[][] {{"-x"}, {"-b"}, {"-n", "gpt2"}, {"-t", "token"}}) {
            Result r = run(args);
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }
}
