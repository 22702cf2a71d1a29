package io.bittensor.examples.bert;

import io.bittensor.config.MemoryBudget;
import io.bittensor.config.NativeBackend;
import io.bittensor.config.NeuronConfig;
import io.bittensor.metagraph.MetagraphException;
import io.bittensor.metrics.NeuronMetrics;
import io.bittensor.runtime.NeuronCommand;
import io.bittensor.runtime.NeuronOptions;
import io.bittensor.session.NeuronSession;
import io.bittensor.telemetry.CallListener;
import io.bittensor.training.CheckpointException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The BERT-style text neuron on the network: masked-language modelling on the State of the Union
 * addresses (or {@code --corpus DIR}), the network's TEXT answers as context, its model served
 * to peers as {@code [batch, seq] int64 → [batch, seq, 512]}. Ctrl-C ends the current step and
 * closes everything.
 */
@Command(name = "bert-neuron", mixinStandardHelpOptions = true,
        description = "Runs the BERT-style text neuron: masked-language modelling with its peers as context.")
public final class BertNeuronMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(BertNeuronMain.class);

    @Mixin
    NeuronOptions neuron;

    @Spec
    CommandSpec spec;

    @Option(names = "--corpus", paramLabel = "DIR",
            description = "Train on the .txt files of DIR (UTF-8; the last tenth held out) instead of the State of the Union addresses.")
    Path corpus;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "default",
            description = "Model size: default (hidden 128, 2 layers, 2 heads, FFN 512, sequence 64) or original (hidden 512). Default: ${DEFAULT-VALUE}")
    String preset;

    @Option(names = "--steps_per_epoch", paramLabel = "N", defaultValue = "500",
            description = "Training batches between evaluations. Default: ${DEFAULT-VALUE}")
    int stepsPerEpoch;

    @Option(names = "--validation_sequences", paramLabel = "N", defaultValue = "512",
            description = "Validation sequences scored each epoch (fixed masks). Default: ${DEFAULT-VALUE}")
    int validationSequences;

    @Option(names = "--topk", paramLabel = "K", defaultValue = "10",
            description = "Peers each example is routed to, at most. Default: ${DEFAULT-VALUE}")
    int topK;

    @Option(names = "--log_interval", paramLabel = "STEPS", defaultValue = "50",
            description = "Training steps between metric rows. Default: ${DEFAULT-VALUE}")
    int logInterval;

    @Option(names = "--seed", paramLabel = "N", description = "Seed for initialisation, shuffling, masking and routing. Default: random")
    Long seed;

    public static void main(String[] args) {
        // Before anything loads ND4J. The default preset's training step at batch 64 passed the
        // other neurons' 1.25 GiB cap in its first step (docs/bert.md): the CIFAR neuron's budget.
        MemoryBudget.applyDefaults(3L << 30, 6L << 30);
        NativeBackend.selectFastest();
        NativeBackend.filterNd4jStdoutNoise();
        System.exit(NeuronCommand.execute(commandLine(), args)); // out of memory: one line, exit 1
    }

    /**
     * One-line errors: bad flags and data problems (an empty, missing or unreadable corpus, a
     * failed fetch) exit 2; checkpoint, key and port problems exit 1.
     */
    static CommandLine commandLine() {
        CommandLine cmd = NeuronOptions.withErrorHandler(new CommandLine(new BertNeuronMain()));
        cmd.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof CorpusException || ex instanceof CheckpointException || ex instanceof IOException
                    || ex instanceof UncheckedIOException || ex instanceof MetagraphException) {
                c.getErr().println(c.getCommandName() + ": " + ex.getMessage());
                c.getErr().flush();
                return ex instanceof CorpusException ? 2 : 1;
            }
            if (NeuronCommand.reportOutOfMemory(c, ex)) {
                return 1;
            }
            throw ex;
        });
        return cmd;
    }

    @Override
    public Integer call() throws IOException {
        BertConfig model;
        try {
            model = BertConfig.preset(preset);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--preset: " + e.getMessage());
        }
        if (stepsPerEpoch < 1 || validationSequences < 1 || topK < 1 || logInterval < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--steps_per_epoch, --validation_sequences, --topk and --log_interval must be at least 1");
        }
        NeuronConfig config = neuron.toConfig();
        long s = seed != null ? seed : new SecureRandom().nextLong();
        WordPiece tokenizer = WordPiece.bertBaseUncased(config.datapath());
        TextCorpus text = corpus != null ? TextCorpus.userDirectory(corpus, tokenizer)
                : TextCorpus.sotu(config.datapath(), tokenizer);
        LOG.info("corpus: {} training documents ({} tokens), {} validation documents ({} tokens): {} … {}",
                text.train().size(), text.trainTokens(), text.validation().size(), text.validationTokens(),
                text.validationNames().get(0), text.validationNames().get(text.validationNames().size() - 1));
        BertTrainer.Settings settings = new BertTrainer.Settings(model, s, stepsPerEpoch, validationSequences, topK,
                logInterval);
        MemoryBudget.current().log();
        CountDownLatch done = new CountDownLatch(1);
        boolean metered = config.metricsPort().isPresent();
        try (NeuronMetrics metrics = NeuronMetrics.builder().build();
                NeuronSession session = NeuronSession.builder(config)
                        .callListener(metered ? metrics : CallListener.NONE).build();
                BertTrainer trainer = new BertTrainer(session, text, MlmMasking.bert(), settings)) {
            Thread hook = new Thread(() -> {
                LOG.info("stopping (signal): finishing the current step");
                trainer.stop();
                try {
                    done.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                session.close();
            }, "bert-neuron-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                session.start();
                if (metered) { // network series (calls, bytes, gossip view) and the training series
                    trainer.setPhaseListener((phase, loss, accuracy) -> metrics.training(
                            phase.name().toLowerCase(Locale.ROOT), loss, accuracy));
                    trainer.setListener((epoch, step, result, answered, stats) -> metrics.steps(1));
                    metrics.watch(session).serve(config.metricsPort().getAsInt());
                    LOG.info("metrics: http://{}:{}/metrics", config.remoteIp(), metrics.port());
                }
                LOG.info("to join this neuron: --bootstrap {}", session.metagraphAddress());
                trainer.run();
            } finally {
                session.close(); // peers stop calling the snapshot before the model closes
                done.countDown();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // already shutting down: the hook is running
                }
            }
        }
        return 0;
    }
}
