package io.bittensor.examples.bert;

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

/** Bad flags and bad corpora end the main with one line on stderr and exit code 2. */
class BertNeuronMainTest {
    @TempDir
    Path dir;

    private record Run(int code, String err) {}

    private Run run(String... args) {
        CommandLine cmd = BertNeuronMain.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        int code = cmd.execute(args);
        return new Run(code, err.toString().trim());
    }

    private String[] withData(String... extra) {
        String[] base = {"--datapath", WordPieceTest.DATA.toString(), "--axon_port", "0", "--metagraph_port", "0",
                "--logdir", dir.resolve("logs").toString()};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void emptyMissingOrUnreadableCorpusIsOneLineAndExit2() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        for (Path corpus : new Path[] {empty, dir.resolve("missing")}) {
            Run r = run(withData("--corpus", corpus.toString()));
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("bert-neuron: corpus"), r.err());
        }
        Path binary = Files.createDirectories(dir.resolve("binary"));
        Files.write(binary.resolve("a.txt"), new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 1});
        Files.writeString(binary.resolve("b.txt"), "fine text");
        Run r = run(withData("--corpus", binary.toString()));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("not UTF-8"), r.err());
    }

    @Test
    void badFlagsAreOneLineAndExit2() {
        for (String[] args : new String[][] {{"--preset", "huge"}, {"--steps_per_epoch", "0"}, {"--axon_port", "70000"},
                {"--topk", "0"}}) {
            Run r = run(withData(args));
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }
}
