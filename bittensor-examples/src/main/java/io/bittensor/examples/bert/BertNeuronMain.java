package io.bittensor.examples.bert;

import io.bittensor.config.NeuronConfig;
import io.bittensor.runtime.Dataset;
import io.bittensor.runtime.NetworkOptions;
import io.bittensor.runtime.NeuronCommand;
import io.bittensor.runtime.NeuronOptions;
import io.bittensor.runtime.NeuronTrainer;
import io.bittensor.runtime.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The BERT-style text neuron on the network, on the shared runtime: masked-language modelling on
 * the State of the Union addresses (or {@code --corpus DIR}), the network's TEXT answers as
 * context, its model served to peers as {@code [batch, seq] int64 → [batch, seq, 512]}. Each epoch
 * it reports the masked-token loss, perplexity and top-1 on the validation sequences (fixed masks),
 * appends metrics, redraws the plots, and saves and serves the best model. Ctrl-C ends the
 * current step and closes everything.
 */
@Command(name = "bert-neuron", mixinStandardHelpOptions = true,
        description = "Runs the BERT-style text neuron: masked-language modelling with its peers as context.")
public final class BertNeuronMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(BertNeuronMain.class);

    @Mixin
    NeuronOptions neuron;

    @Mixin
    RunOptions run;

    @Mixin
    NetworkOptions network;

    @Spec
    CommandSpec spec;

    @Option(names = "--corpus", paramLabel = "DIR",
            description = "Train on the .txt files of DIR (UTF-8; the last tenth held out) instead of the State of the Union addresses.")
    Path corpus;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "default", converter = PresetConverter.class,
            description = "Model size: default (hidden 128, 2 layers, 2 heads, FFN 512, sequence 64) or original (hidden 512). Default: ${DEFAULT-VALUE}")
    BertConfig preset;

    /**
     * ND4J's native limit and the process's RSS cap when not given: the default preset's training
     * step at batch 64 passed the other neurons' 1.5 GiB cap in its first step (docs/bert.md), so
     * the CIFAR neuron's budget.
     */
    static final long NATIVE_BUDGET = 3L << 30;
    static final long PROCESS_BUDGET = 6L << 30;

    public static void main(String[] args) {
        NeuronCommand.main(new BertNeuronMain(), args, NATIVE_BUDGET, PROCESS_BUDGET);
    }

    /**
     * One-line errors: bad flags and an unusable corpus (empty, missing, unreadable, or too small
     * for the batch) exit 2; a failed fetch, checkpoint, key and port problems exit 1.
     */
    static CommandLine commandLine() {
        return NeuronCommand.commandLine(new BertNeuronMain());
    }

    @Override
    public Integer call() throws IOException {
        NeuronConfig config = neuron.toConfig();
        // Evaluation in training-sized batches: the head's [masked, 30 522] rows grow with the batch.
        NeuronTrainer.Settings settings = run.settings(network.topK()).withEvalBatch(config.batchSize());
        WordPiece tokenizer = WordPiece.bertBaseUncased(config.datapath());
        Dataset data;
        try {
            TextCorpus text = corpus != null ? TextCorpus.userDirectory(corpus, tokenizer)
                    : TextCorpus.sotu(config.datapath(), tokenizer);
            LOG.info("corpus: {} training documents ({} tokens), {} validation documents ({} tokens): {} … {}",
                    text.train().size(), text.trainTokens(), text.validation().size(), text.validationTokens(),
                    text.validationNames().get(0), text.validationNames().get(text.validationNames().size() - 1));
            data = run.limit(text.dataset(preset.sequence(), config.batchSize(), settings.seed()));
        } catch (CorpusException e) { // what --corpus (or --batch_size) names cannot be used: a bad flag
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        LOG.info("text data: {} training and {} validation sequences; model {}", data.train().size(),
                data.test().size(), preset.describe());
        return NeuronCommand.runOnNetwork(BertModel.spec(preset), config, data, settings);
    }

    /** --preset by name; an unknown one is a flag error naming the choices. */
    static final class PresetConverter implements CommandLine.ITypeConverter<BertConfig> {
        @Override
        public BertConfig convert(String value) {
            try {
                return BertConfig.preset(value.trim());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
