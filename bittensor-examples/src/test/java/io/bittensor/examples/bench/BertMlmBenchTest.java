package io.bittensor.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The bench's flags: a bad value is refused with one line naming the flag and exit code 2, before any data is read. */
class BertMlmBenchTest {
    @TempDir
    Path empty;

    private String refused(String... args) {
        CommandLine cmd = new CommandLine(new BertMlmBench());
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        String[] all = new String[args.length + 2];
        all[0] = "--datapath";
        all[1] = empty.toString(); // nothing there: a bad flag must stop the bench before it fetches anything
        System.arraycopy(args, 0, all, 2, args.length);
        assertEquals(2, cmd.execute(all), String.join(" ", args));
        cmd.getErr().flush();
        return err.toString().lines().findFirst().orElse("");
    }

    @Test
    void aTrainingMaskRateOutsideZeroToOneIsRefused() {
        for (String bad : new String[] {"0", "-0.2", "1.01", "NaN"}) {
            String line = refused("--train_mask_rate", bad);
            assertTrue(line.startsWith("--train_mask_rate: 0 < R <= 1, got"), line);
        }
        String line = refused("--train_mask_rate", "lots");
        assertTrue(line.contains("--train_mask_rate"), line);
    }

    @Test
    void theScheduleFlagsAreChecked() {
        assertTrue(refused("--schedule", "step").startsWith("--schedule:"));
        assertTrue(refused("--decay_fraction", "0").startsWith("--decay_fraction:"));
        assertTrue(refused("--warmup_steps", "-1").startsWith("--warmup_steps:"));
        assertTrue(refused("--pad_target_weight", "-1").startsWith("--pad_target_weight:"));
    }
}
