package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Running out of memory ends a neuron's command with one line and exit 1, not a stack trace. */
class NeuronCommandTest {
    @Command(name = "test-neuron")
    static final class Failing implements Callable<Integer> {
        private final Throwable failure;

        Failing(Throwable failure) {
            this.failure = failure;
        }

        @Override
        public Integer call() throws Exception {
            if (failure instanceof Exception e) {
                throw e;
            }
            throw (Error) failure;
        }
    }

    private static String run(Throwable failure, int expectedCode) {
        CommandLine cmd = NeuronCommand.commandLine(new Failing(failure));
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        assertEquals(expectedCode, NeuronCommand.execute(cmd));
        return err.toString();
    }

    @Test
    void outOfMemoryIsOneLineAndExitOne() {
        // JavaCPP's message when ND4J's arrays pass maxbytes (the hard native bound).
        String err = run(new OutOfMemoryError("Failed to allocate memory within limits: totalBytes (510M + 4M)"
                + " > maxBytes (512M)"), 1);
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.startsWith("test-neuron: out of memory (Failed to allocate memory within limits"), err);
        assertTrue(err.contains("raise -Xmx or -Dorg.bytedeco.javacpp.maxbytes "), err);
        assertFalse(err.contains("maxphysicalbytes"), "not on by default, so not named: " + err);
    }

    @Test
    void javaCppsStrictRssLimitIsNamedWhenItIsWhatRefused() {
        // JavaCPP's message when the process passes a maxphysicalbytes given on the command line.
        String err = run(new OutOfMemoryError("Physical memory usage is too high: physicalBytes (1600M) > maxPhysicalBytes (1536M)"), 1);
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.startsWith("test-neuron: out of memory (Physical memory usage is too high"), err);
        assertTrue(err.contains("raise -Xmx or -Dorg.bytedeco.javacpp.maxphysicalbytes "), err);
    }

    @Test
    void anOutOfMemoryErrorWrappedInAnExceptionIsTheSameLine() {
        String err = run(new IllegalStateException("allocation failed", new OutOfMemoryError("Java heap space")), 1);
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.startsWith("test-neuron: out of memory (Java heap space)"), err);
    }

    @Test
    void otherErrorsAreNotDisguised() {
        assertThrows(StackOverflowError.class, () -> run(new StackOverflowError(), 1));
        String err = run(new IllegalStateException("a bug"), 1);
        assertFalse(err.contains("out of memory"), err);
        assertTrue(err.contains("IllegalStateException: a bug"), "a bug keeps its stack trace: " + err);
    }
}
