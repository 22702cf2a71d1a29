package io.bittensor.examples.mnist;

import io.bittensor.runtime.NeuronOptions;
import io.bittensor.metagraph.MetagraphException;
import io.bittensor.training.CheckpointException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The MNIST mains' flags beyond the neuron flags (a picocli mixin), and their command line. */
final class MnistRunOptions {
    @Option(names = "--seed", paramLabel = "N", description = "Seed for initialisation, shuffling, dropout (and routing). Default: random")
    Long seed;

    @Option(names = "--log_interval", paramLabel = "STEPS", defaultValue = "50",
            description = "Training steps between metric rows. Default: ${DEFAULT-VALUE}")
    int logInterval;

    @Option(names = "--train_limit", paramLabel = "N", defaultValue = "0",
            description = "Train on the first N images only (0 = all 60,000); for quick runs.")
    int trainLimit;

    @Option(names = "--test_limit", paramLabel = "N", defaultValue = "0",
            description = "Evaluate on the first N test images only (0 = all 10,000).")
    int testLimit;

    /** --seed, or a random one (logged by the caller). */
    long seedOrRandom() {
        return seed != null ? seed : new SecureRandom().nextLong();
    }

    /** The data set cut to --train_limit / --test_limit. */
    MnistDataset limit(MnistDataset all) {
        return new MnistDataset(limit(all.train(), trainLimit), limit(all.test(), testLimit));
    }

    private static MnistSplit limit(MnistSplit split, int n) {
        return n > 0 && n < split.size() ? split.head(n) : split;
    }

    /**
     * A main's command line with one-line errors: bad flags exit 2; data, checkpoint, key-file and
     * port problems exit 1.
     */
    static CommandLine commandLine(Object command) {
        CommandLine cmd = NeuronOptions.withErrorHandler(new CommandLine(command));
        cmd.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof MnistDataException || ex instanceof CheckpointException || ex instanceof IOException
                    || ex instanceof UncheckedIOException || ex instanceof MetagraphException) {
                Throwable cause = ex.getCause();
                String detail = cause != null && cause != ex && cause.getMessage() != null
                        && !ex.getMessage().contains(cause.getMessage()) ? " (" + cause.getMessage() + ")" : "";
                c.getErr().println(c.getCommandName() + ": " + ex.getMessage() + detail);
                return 1;
            }
            throw ex;
        });
        return cmd;
    }
}
