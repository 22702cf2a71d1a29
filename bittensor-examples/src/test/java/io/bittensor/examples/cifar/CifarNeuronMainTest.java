package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.crypto.KeyFiles;
import io.bittensor.crypto.Keypair;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The CIFAR main's one-line errors; all fail before the session binds a port. */
class CifarNeuronMainTest {
    @TempDir
    Path tmp;

    record Run(int code, String err) {}

    static Run run(String... args) {
        CommandLine cmd = CifarNeuronMain.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute(args), err.toString());
    }

    /** The run's flags plus ports 0, a key, logs and data in the temporary directory. */
    private Run runHere(String... args) throws IOException {
        List<String> all = new ArrayList<>(List.of("--datapath", tmp.resolve("data").toString(), "--neuron_key",
                key().toString(), "--logdir", tmp.resolve("logs").toString(), "--axon_port", "0", "--metagraph_port", "0"));
        all.addAll(List.of(args));
        return run(all.toArray(String[]::new));
    }

    private static void assertOneLine(int code, Run r, String... mentions) {
        assertEquals(code, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        for (String m : mentions) {
            assertTrue(r.err().contains(m), "'" + m + "' in: " + r.err());
        }
    }

    @Test
    void badFlagsAreOneLineAndExitCode2() {
        assertOneLine(2, run("--preset", "resnet"), "--preset", "mini", "dpn26");
        assertOneLine(2, run("--topk", "0"), "--topk");
        assertOneLine(2, run("--axon_port", "70000"), "--axon_port");
        assertOneLine(2, run("--train_limit", "-1"), "--train_limit");
    }

    @Test
    void badDatasetsAreOneLineAndExitCode2() throws Exception {
        assertOneLine(2, runHere("--dataset", tmp.resolve("nope").toString()), "--dataset", "does not exist");

        Path empty = Files.createDirectories(tmp.resolve("empty/train/cat"));
        assertOneLine(2, runHere("--dataset", tmp.resolve("empty").toString()), "--dataset", "no images");

        Path uneven = tmp.resolve("uneven.tar.gz");
        Map<String, byte[]> u = new LinkedHashMap<>();
        u.put("train/cat/0.png", CifarFixtures.png(32, 1));
        u.put("test/dog/0.png", CifarFixtures.png(32, 2));
        CifarFixtures.writeTarGz(uneven, u);
        assertOneLine(2, runHere("--dataset", uneven.toString()), "--dataset", "different classes");

        Path small = tmp.resolve("small.tar.gz");
        Map<String, byte[]> s = new LinkedHashMap<>();
        s.put("train/cat/0.png", CifarFixtures.png(28, 1));
        s.put("test/cat/0.png", CifarFixtures.png(28, 2));
        CifarFixtures.writeTarGz(small, s);
        assertOneLine(2, runHere("--dataset", small.toString()), "--dataset", "32×32");

        Path corrupt = Files.write(tmp.resolve("corrupt.tar.gz"), "not gzip at all".getBytes());
        assertOneLine(2, runHere("--dataset", corrupt.toString()), "--dataset", "not a readable .tar.gz");
        assertTrue(Files.isDirectory(empty));
    }

    @Test
    void aDamagedDownloadedReleaseIsOneLineAndExitCode2() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.write(data.resolve(CifarBinary.FILE_NAME), "half a download".getBytes());
        assertOneLine(2, runHere(), "CIFAR-10", "corrupt", CifarBinary.FILE_NAME);
    }

    @Test
    void aCorruptCheckpointIsOneLineAndExitCode1() throws Exception {
        Path images = tmp.resolve("images");
        Map<String, byte[]> tree = new LinkedHashMap<>();
        for (String split : List.of("train", "test")) {
            for (int c = 0; c < 2; c++) {
                tree.put(split + "/class" + c + "/0.png", CifarFixtures.png(32, c * 0x404040));
            }
        }
        for (Map.Entry<String, byte[]> e : tree.entrySet()) {
            Files.createDirectories(images.resolve(e.getKey()).getParent());
            Files.write(images.resolve(e.getKey()), e.getValue());
        }
        Path model = Files.write(tmp.resolve("model.ckpt"), "BTCKPT01 but then garbage that no hash matches".getBytes());
        Run r = runHere("--dataset", images.toString(), "--model_path", model.toString());
        assertOneLine(1, r, "corrupt", model.toString());
    }

    private Path key() throws IOException {
        Path k = tmp.resolve("neuron.key");
        if (!Files.exists(k)) {
            KeyFiles.save(Keypair.generate(), k);
        }
        return k;
    }
}
